"""The lab on Docker Swarm, against the real engine in swarm mode, real Traefik (swarm provider)
and real uvicorn: the make targets' commands leave the engine as they found it; Swarm's own
rolling update drops requests when the app drains only on SIGTERM and drops none with a lame-duck
window sized to Traefik's poll; an update that never gets healthy is rolled back by Swarm's
failure_action with the old tasks serving throughout."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from lab.compose_lab import ensure_images, free_loopback_port
from lab.config import REPO_ROOT, load_config
from lab.swarm.config import SwarmConfig, load_swarm_config
from lab.swarm.engine import stack_containers, swarm_active
from lab.swarm.measure import BROKEN, FAST_POLL, FIXED, measure_rollback, measure_variant, variant_named
from lab.swarm.stack import ensure_swarm, leave_swarm_if_ours
from zerodrop.adapters.traefik_api import get_through_traefik

pytestmark = pytest.mark.lab


def lab_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m lab ...` as the make targets run it, output shown."""
    result = subprocess.run(
        [sys.executable, "-m", "lab", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout, result.stderr)
    return result


def test_1_swarm_up_rollout_down_route_every_task_and_leave_the_engine_as_found(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    """What `make swarm-up`, `make swarm-rollout VERSION=v2` and `make swarm-down` run, on a
    stack of its own: up waits until Traefik routes every task, the rollout ends with v2 routed
    and answering through Traefik's port, and down removes everything and switches swarm mode
    off again only if up switched it on."""
    was_active = swarm_active(docker_client)
    stack = f"zdswarm-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "SWARM_STACK": stack,
        "SWARM_HTTP_PORT": str(free_loopback_port()),
        "SWARM_API_PORT": str(free_loopback_port()),
        "SWARM_REFRESH_SECONDS": "2",
        "LAB_STATE_DIR": str(tmp_path / "state"),
    }
    cfg = load_swarm_config(env)
    try:
        up = lab_command("swarm", "up", env=env)
        assert up.returncode == 0, up.stderr
        assert "2 serving (v1" in up.stdout and "Traefik routes 2" in up.stdout
        assert ("swarm mode switched on" in up.stdout) == (not was_active)
        again = lab_command("swarm", "rollout", "--to", "v1", env=env)
        assert again.returncode == 2 and "already runs v1" in again.stderr, "bad input: one line, exit 2"
        rollout = lab_command("swarm", "rollout", "--to", "v2", env=env)
        assert rollout.returncode == 0, rollout.stderr
        assert "update to v2: completed" in rollout.stdout
        answers = {get_through_traefik(cfg, "/health").json()["version"] for _ in range(10)}
        assert answers == {"v2"}
    finally:
        down = lab_command("swarm", "down", env=env)
    assert down.returncode == 0, down.stderr
    assert not stack_containers(docker_client, stack), "swarm down left containers"
    assert swarm_active(docker_client) == was_active, "the engine's swarm mode is not as it was found"


@pytest.fixture(scope="module")
def swarm_base(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SwarmConfig]:
    """Swarm mode on for the module's tests (switched off again afterwards if it was off), and
    the app images v1, v2, v3 built."""
    scratch = tmp_path_factory.mktemp("swarm")
    base = load_swarm_config().with_overrides(state_dir=scratch / "state", out_dir=scratch / "out")
    ensure_images(docker_client, load_config(), ("v1", "v2", "v3"))
    was_active = swarm_active(docker_client)
    ensure_swarm(docker_client, base)
    try:
        yield base
    finally:
        leave_swarm_if_ours(docker_client, base)
        assert swarm_active(docker_client) == was_active, "swarm mode not left as it was found"


def test_2_native_update_drops_requests_when_the_app_drains_only_on_sigterm_and_none_with_the_fix(
    docker_client: docker.DockerClient, swarm_base: SwarmConfig
) -> None:
    """Each variant on a fresh stack, v1 -> v2 by Swarm's start-first rolling update under the
    probe. Broken (Traefik's default 15 s poll, no lame duck): the task Swarm stops stays routed
    until the next poll and answers 502s. Fixed (lame duck = poll + throttle + a healthcheck
    round) and a 2 s poll with its shorter window: not one failed request."""
    broken = measure_variant(docker_client, swarm_base, variant_named(BROKEN))
    print("\n".join(broken.lines()))
    fixed = measure_variant(docker_client, swarm_base, variant_named(FIXED))
    print("\n".join(fixed.lines()))
    fast = measure_variant(docker_client, swarm_base, variant_named(FAST_POLL))
    print("\n".join(fast.lines()))

    for run in (broken, fixed, fast):
        assert run.update is not None, run.error
        assert run.update.state == "completed" and run.update.final_version == "v2", run.update.line()
    assert broken.failed > 0, "the broken variant must drop requests, or this test proves nothing"
    # 502: the stopping task refuses; 503: Traefik's stale list holds only such tasks, which its
    # health check has marked down (the new ones arrive with the next poll).
    assert all(kind.endswith(("http-502", "http-503")) for kind in broken.failure_kinds()), (
        broken.failure_kinds()
    )
    assert fixed.failed == 0, fixed.failure_kinds()
    assert fast.failed == 0, fast.failure_kinds()
    assert fixed.total > 500 and fast.total > 500, "the probe ran throughout"
    for run in (fixed, fast):
        served = {r.version for r in run.probe.records if r.ok}
        assert served == {"v1", "v2"}, f"{run.label}: answered by {served}"


def test_3_update_that_never_gets_healthy_is_rolled_back_by_swarm_with_zero_failed(
    docker_client: docker.DockerClient, swarm_base: SwarmConfig
) -> None:
    """v1 -> a v3 whose readiness never passes (STARTUP_DELAY=600): Swarm's failure_action rolls
    the update back by itself; v1 serves throughout and after, and not one request fails."""
    rollback = measure_rollback(docker_client, swarm_base)
    print("\n".join(rollback.lines()))
    assert rollback.update is not None, rollback.error
    assert rollback.update.state == "rollback_completed", rollback.update.line()
    assert rollback.update.final_version == "v1"
    assert {t.version for t in rollback.update.routing.serving} == {"v1"}
    assert rollback.failed == 0, rollback.failure_kinds()
    assert rollback.total > 500
    assert {r.version for r in rollback.probe.records if r.ok} == {"v1"}, "v3 must never answer"
