"""The Kubernetes manifests (deploy/kubernetes/), validated offline against the Kubernetes
schemas and checked against the app's own timings. They are not run here: there is no cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from lab.config import REPO_ROOT

MANIFESTS = REPO_ROOT / "deploy" / "kubernetes" / "app.yaml"
KUBERNETES_VERSION = "1.37.0"  # the schemas kubernetes-validate (pinned) ships


def documents(path: Path = MANIFESTS) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def by_kind(kind: str) -> dict[str, Any]:
    return next(doc for doc in documents() if doc["kind"] == kind)


@pytest.mark.parametrize("doc", documents(), ids=lambda d: d["kind"])
def test_each_manifest_is_valid_against_the_schemas(doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_refused():
    deployment = by_kind("Deployment")
    deployment["spec"]["strategy"]["rollingUpdate"]["maxSurgee"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_three_fixes_and_the_rollout_invariant_are_there():
    spec = by_kind("Deployment")["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod = spec["template"]["spec"]
    app = pod["containers"][0]
    env = {e["name"]: float(e["value"]) for e in app["env"] if e["name"] != "APP_VERSION"}
    # 1. readiness: the app's readiness endpoint, not its liveness one
    assert app["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/health"
    # 2. graceful shutdown: a preStop sleep covering endpoint propagation
    pre_stop = app["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop >= 5
    # 3. the grace period covers preStop + the longest request + the shutdown work ...
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > pre_stop + env["SLOW_SECONDS"] + env["SHUTDOWN_WORK_SECONDS"]
    # ... and the app gives up cleanly (GRACEFUL_TIMEOUT) before the kubelet's SIGKILL
    assert grace > pre_stop + env["DRAIN_SECONDS"] + env["GRACEFUL_TIMEOUT"] + env["SHUTDOWN_WORK_SECONDS"]
    assert env["GRACEFUL_TIMEOUT"] > env["SLOW_SECONDS"]
