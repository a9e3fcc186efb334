"""What the pages' actions are made of: a stop of several containers at once, a drain confirmed
in Traefik's API, the rollout tool as the fixed variants use it, and the moment right after a
healthcheck (where a reader meets the longest wait)."""

from __future__ import annotations

import time

from docker.models.containers import Container

from lab.workshop.harness import Scene, quiet
from zerodrop.adapters.docker_sdk import exit_code, health_log_ends
from zerodrop.model import Release, Replica
from zerodrop.parallel import each
from zerodrop.rollout.deadlines import DEFAULT_ROUTE_TIMEOUT
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.phase_log import load_phases
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.waits import wait_for


def right_after_a_healthcheck(container: Container) -> None:
    """Return as soon as Docker has finished a new healthcheck of the container, so an action
    taken now meets the longest wait before the next one (the window a reader sees at worst)."""
    seen = health_log_ends(container)
    wait_for(
        lambda: health_log_ends(container) != seen, what="the next healthcheck", timeout=10, interval=0.05
    )


def stop_all(containers: list[Container], timeout: int | None) -> list[int | None]:
    """docker stop several containers at once (as `docker stop a b` does); their exit codes.
    timeout None: each container's own stop timeout (compose's stop_grace_period)."""

    def stop(container: Container) -> int | None:
        if timeout is None:
            container.stop()
        else:
            container.stop(timeout=timeout)
        return exit_code(container)

    return each(stop, containers)


def drain_and_confirm(scene: Scene, replica: Replica) -> float:
    """SIGUSR1, then wait (the rollout's own gate) until Traefik's API no longer lists the
    replica; seconds it took."""
    platform = scene.platform()
    started = time.monotonic()
    platform.drain(replica.id)
    ReplicaWaits(platform).unrouted(replica, DEFAULT_ROUTE_TIMEOUT)
    return time.monotonic() - started


def rollout(scene: Scene, version: str) -> None:
    """The rollout tool, as the fixed variants use it; its phases go to the outcome."""
    log_path = scene.cfg.out_dir / f"{scene.cfg.project}.rollout.jsonl"
    options = RolloutOptions(target=Release(version), build=False)
    execute_rollout(scene.platform(), scene.cfg, options, log_path, quiet)
    scene.outcome.phases = load_phases(log_path)
