"""One reader per fact: a service's healthcheck and its published host ports are read by one
function each, and the rollout's refusals and lint's rules are both rules over them, so they
cannot disagree. The same service dicts go to both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zerodrop.adapters.compose_service import read_service, refusals
from zerodrop.lint.contract_rules import TOOL_RULES
from zerodrop.lint.run import lint_compose
from zerodrop.lint.traefik_static import TraefikStatic

CHECK = {"test": ["CMD", "true"], "interval": "1s", "timeout": "1s", "retries": 1}


def service(**settings: Any) -> dict[str, Any]:
    return {
        "name": "p",
        "services": {"web": {"image": "web:v1", "labels": {"traefik.enable": "true"}, **settings}},
    }


def both(config: dict[str, Any]) -> tuple[set[str], set[str]]:
    """What the rollout refuses (by topic) and what lint finds (by rule), for the same service."""
    refused = " ".join(refusals(read_service(config, "web")))
    topics = {
        t
        for t, word in (("healthcheck", "no healthcheck"), ("ports", "publishes host port"))
        if word in refused
    }
    found = {
        f.code for f in lint_compose(config, Path("."), TraefikStatic(idle=1.0, throttle=0.5), TOOL_RULES)
    }
    return topics, found & {"healthcheck", "ports"}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"healthcheck": CHECK}, set()),
        ({"healthcheck": {**CHECK, "disable": "false"}}, set()),  # a string false is false, to both
        ({"healthcheck": {**CHECK, "disable": True}}, {"healthcheck"}),
        ({"healthcheck": {"test": ["NONE"]}}, {"healthcheck"}),
        ({}, {"healthcheck"}),
        ({"healthcheck": CHECK, "ports": ["8000"]}, set()),  # target only: a free host port each
        ({"healthcheck": CHECK, "ports": [{"target": 8000}]}, set()),
        ({"healthcheck": CHECK, "ports": ["8080:8000"]}, {"ports"}),
        ({"healthcheck": CHECK, "ports": ["127.0.0.1:8080:8000/tcp"]}, {"ports"}),
        ({"healthcheck": CHECK, "ports": [{"target": 8000, "published": "8080"}]}, {"ports"}),
    ],
)
def test_the_rollout_and_lint_read_a_service_the_same_way(settings, expected):
    refused, found = both(service(**settings))
    assert refused == found == expected
