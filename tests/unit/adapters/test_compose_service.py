"""A service read from compose's merged configuration, and the refusals that keep an unsafe
rollout from starting."""

from __future__ import annotations

from typing import Any

import pytest

from zerodrop.adapters.compose_service import read_service, refusals
from zerodrop.errors import RolloutInputError

CONFIG: dict[str, Any] = {
    "name": "shop",
    "services": {
        "api": {
            "image": "shop/api:v1",
            "labels": {"traefik.enable": "true", "zerodrop.drain": "file:/tmp/drain"},
            "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "timeout": "1s", "retries": 2},
            "stop_grace_period": "30s",
            "deploy": {"replicas": 3},
        },
        "proxy": {"image": "traefik:v3.7", "ports": [{"target": 80, "published": "8080", "protocol": "tcp"}]},
    },
}


def test_the_service_as_compose_resolved_it():
    spec = read_service(CONFIG, "api")
    assert (spec.project, spec.image, spec.replicas, spec.stop_grace) == ("shop", "shop/api:v1", 3, 30.0)
    assert spec.labels["zerodrop.drain"] == "file:/tmp/drain"
    assert spec.timing().flip == 4.0 and refusals(spec) == []


def test_an_unknown_service_is_bad_input():
    with pytest.raises(RolloutInputError, match="no service 'web'"):
        read_service(CONFIG, "web")


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"container_name": "api"}, "container_name"),
        ({"ports": [{"target": 8000, "published": "8000"}]}, "host port"),
        ({"network_mode": "host"}, "network_mode"),
        ({"healthcheck": None}, "no healthcheck"),
        ({"healthcheck": {"test": ["NONE"]}}, "no healthcheck"),
        ({"healthcheck": {"disable": True}}, "no healthcheck"),
        ({"healthcheck": {"test": ["CMD", "true"], "interval": "20s", "retries": 2}}, "to report a drain"),
    ],
)
def test_each_unsafe_setting_is_refused(change, refusal):
    services = {**CONFIG["services"], "api": {**CONFIG["services"]["api"], **change}}
    found = refusals(read_service({**CONFIG, "services": services}, "api"))
    assert len(found) == 1 and refusal in found[0], found
