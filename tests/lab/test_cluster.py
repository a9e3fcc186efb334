"""The lab on a three-node Swarm of Engine-26 nodes (containers on the host's engine), against
real engines, real Traefik (swarm provider, on the manager) and real uvicorn, every request sent
to 127.0.0.1: the make targets' commands bring it up idempotently, spread over the nodes, and
leave nothing behind; Swarm's rolling update across nodes drops requests without a lame duck and
none with it; a worker killed at rest costs only requests inside the documented window, and every
task runs again afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from bench.cluster_faults import spans, table
from lab.cluster.config import CLUSTER_LABEL, ClusterConfig, load_cluster_config
from lab.cluster.faults import KILL, NodeFault, fault_target
from lab.cluster.measure import FAULT_WINDOW_SECONDS, measure_broken_and_fixed, measure_fault
from lab.cluster.nodes import remove_nodes
from lab.cluster.stack import manager_client, node_views
from lab.compose_lab import free_loopback_port
from lab.config import REPO_ROOT
from lab.swarm.routing import routing_now
from zerodrop.adapters.traefik_api import get_through_traefik
from zerodrop.measure.timeline import plot_timeline

pytestmark = pytest.mark.lab


def lab_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m lab ...` as the make targets run it, output shown."""
    result = subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    print(result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def cluster_env(docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    """A private cluster's variables (its name and free loopback ports), the node image built if
    missing; the cluster is always removed at the end, and nothing of it may be left."""
    build = subprocess.run(["bash", "scripts/build-cluster-node-image.sh"], cwd=REPO_ROOT, check=False)
    assert build.returncode == 0, "the node image did not build"
    env = {
        **os.environ,
        "CLUSTER_NAME": f"zdcluster-{uuid.uuid4().hex[:6]}",
        "CLUSTER_HTTP_PORT": str(free_loopback_port()),
        "CLUSTER_API_PORT": str(free_loopback_port()),
        "CLUSTER_DOCKER_PORT": str(free_loopback_port()),
    }
    try:
        yield env
    finally:
        remove_nodes(docker_client, load_cluster_config(env))


def test_1_cluster_up_spreads_the_tasks_over_three_nodes_and_is_idempotent(
    cluster_env: dict[str, str],
) -> None:
    """`make cluster-up` twice: three Engine-26 nodes, one app task on each, every task routed
    by the manager's Traefik and answering at 127.0.0.1; the second run creates nothing. A
    version the nodes do not hold is one line and exit 2."""
    up = lab_command("cluster", "up", env=cluster_env)
    assert up.returncode == 0, up.stderr
    assert "created 3" in up.stdout and "3 serving (v1" in up.stdout and "Traefik routes 3" in up.stdout
    again = lab_command("cluster", "up", env=cluster_env)
    assert again.returncode == 0 and "created 0" in again.stdout and "into 0 node(s)" in again.stdout
    cfg = load_cluster_config(cluster_env)
    views = node_views(manager_client(cfg), cfg)
    assert [(v.role, v.state) for v in views] == [
        ("manager", "ready"),
        ("worker", "ready"),
        ("worker", "ready"),
    ]
    assert all(len(v.tasks) == 1 for v in views), "spread: one task per node"
    replicas = {get_through_traefik(cfg.swarm, "/health").json()["replica"] for _ in range(30)}
    assert len(replicas) == 3, f"Traefik sent 30 requests to {replicas}"
    bad = lab_command("cluster", "rollout", "--to", "v9", env=cluster_env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def cluster(cluster_env: dict[str, str]) -> ClusterConfig:
    """The cluster test 1 brought up."""
    cfg = load_cluster_config(cluster_env)
    assert routing_now(manager_client(cfg), cfg.swarm).serving, "test 1 must bring the cluster up"
    return cfg


def test_2_rolling_update_across_nodes_drops_without_a_lame_duck_and_none_with_it(
    cluster: ClusterConfig,
) -> None:
    """v1 -> v2 by Swarm's start-first update, tasks on three nodes, under the probe. Broken
    (Traefik's default 15 s poll, no lame duck): a stopping task stays in Traefik's stale list and
    refuses, so requests fail. Fixed (2 s poll, lame duck derived from it): none fails."""
    broken, fixed = measure_broken_and_fixed(cluster)
    for run in (broken, fixed):
        print("\n".join(run.lines()))
        assert run.update is not None and run.update.state == "completed", run.error
        assert run.update.final_version == "v2"
    assert broken.failed > 0, "the broken variant must drop requests, or this test proves nothing"
    assert fixed.failed == 0, fixed.probe.failure_kinds()
    assert fixed.total > 300 and {r.version for r in fixed.probe.records if r.ok} == {"v1", "v2"}


def test_3_worker_killed_at_rest_fails_only_inside_the_window_and_every_task_runs_again(
    docker_client: docker.DockerClient, cluster: ClusterConfig, tmp_path: Path
) -> None:
    """`docker kill` of a worker's node container under the probe: Swarm marks it down and
    starts its tasks elsewhere, Traefik's health check takes the lost tasks out; requests fail
    only if in flight on the node at the kill or begun within FAULT_WINDOW_SECONDS after it, or
    after Traefik first listed the replacement (its reload resets the health check, traefik#13223).
    Started again, the node rejoins and every replica serves, routed."""
    fault = NodeFault(KILL, fault_target(cluster))
    run = measure_fault(docker_client, cluster, fault, hold=20)
    print("\n".join(run.lines()))
    assert run.error is None, run.error
    assert fault.node_down and fault.replaced and fault.back, fault.line()
    assert run.failed_outside_window() == 0, (
        f"failures outside {FAULT_WINDOW_SECONDS}s: {run.failure_window()}"
    )
    routing = routing_now(manager_client(cluster), cluster.swarm)
    assert (
        len(routing.serving) == cluster.swarm.replicas and {t.ip for t in routing.serving} == routing.routed
    )
    assert run.total > 300
    # `make bench-cluster`'s smoke: its table row and timeline for this run.
    assert run.label in table([run])
    plot_timeline(run.probe, [], tmp_path / "kill.png", title=run.label, spans=spans(run))
    assert (tmp_path / "kill.png").read_bytes()[:4] == b"\x89PNG"


def test_4_cluster_down_leaves_nothing(
    docker_client: docker.DockerClient, cluster_env: dict[str, str]
) -> None:
    """`make cluster-down`: no node container, network or volume of the cluster is left."""
    down = lab_command("cluster", "down", env=cluster_env)
    assert down.returncode == 0, down.stderr
    name = cluster_env["CLUSTER_NAME"]
    label = f"{CLUSTER_LABEL}={name}"
    assert not docker_client.containers.list(all=True, filters={"label": label})
    assert not docker_client.networks.list(filters={"label": label})
    assert not lab_command("cluster", "down", env=cluster_env).returncode, "down again: still fine"
