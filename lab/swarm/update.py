"""Swarm's own rolling update of the lab's app, timed: deploy the new version and wait until the
update is done and Traefik routes only it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import docker

from lab.errors import SwarmInputError
from lab.swarm import engine
from lab.swarm.config import SwarmConfig
from lab.swarm.routing import SwarmRouting, current_version, wait_settled
from lab.swarm.stack import stack_deploy
from zerodrop.adapters import docker_sdk
from zerodrop.waits import wait_for

UPDATE_DONE = frozenset({"completed", "paused", "rollback_completed", "rollback_paused"})


@dataclass(frozen=True)
class SwarmUpdate:
    """How Swarm's rolling update ended and how long it took."""

    target: str
    state: str  # completed, rollback_completed, paused, rollback_paused
    message: str
    update_seconds: float  # deploy -> Swarm reports the update (or its rollback) done
    settled_seconds: float  # deploy -> the old tasks exited and Traefik routes exactly the new ones
    final_version: str
    routing: SwarmRouting
    # Each update state Swarm reported, with seconds since the deploy when it was first seen.
    states: tuple[tuple[str, float], ...] = ()
    deployed_at: float = 0.0  # wall clock (time.time) of the deploy, as the probe's records use

    def spans(self) -> list[tuple[str, float, float]]:
        """Wall-clock spans for a timeline: the update until Swarm called it done, then until the
        old tasks were gone and Traefik routed exactly the new ones."""
        done = self.deployed_at + self.update_seconds
        return [
            (f"docker stack deploy -> {self.state}", self.deployed_at, done),
            ("old tasks finishing, routes settling", done, self.deployed_at + self.settled_seconds),
        ]

    def line(self) -> str:
        """'update to v2: completed in 13.7s, settled in 26.1s; serving v2 x2; updating 0.1s, ...'."""
        seen = ", ".join(f"{state} {at:.1f}s" for state, at in self.states)
        return (
            f"update to {self.target}: {self.state} in {self.update_seconds:.1f}s "
            f"({self.message}), settled in {self.settled_seconds:.1f}s; serving "
            f"{self.final_version} x{len(self.routing.serving)}; states seen: {seen}"
        )


def _update_status(client: docker.DockerClient, cfg: SwarmConfig) -> dict[str, Any]:
    service = engine.swarm_service(client, cfg.app_service) or {}
    status: dict[str, Any] = service.get("UpdateStatus") or {}
    return status


def _check_update(
    client: docker.DockerClient, cfg: SwarmConfig, version: str, extra_env: dict[str, str] | None
) -> None:
    """SwarmInputError, before anything changes, for an update that cannot or need not run."""
    before = current_version(client, cfg)
    if before is None:
        raise SwarmInputError(f"stack {cfg.stack!r} is not deployed: run `make swarm-up` first")
    if not docker_sdk.image_exists(client, cfg.image_of(version)):
        raise SwarmInputError(f"no image {cfg.image_of(version)} on this engine")
    if before == version and not extra_env:
        raise SwarmInputError(f"stack {cfg.stack!r} already runs {version}: nothing to update")


def swarm_update(
    client: docker.DockerClient,
    cfg: SwarmConfig,
    version: str,
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> SwarmUpdate:
    """Roll the app service to `version` with Swarm's own rolling update (update_config in the
    stack file) and wait until it is done, rolled back or paused, then until the old tasks have
    exited and Traefik routes exactly what serves."""
    deadline = cfg.up_timeout if timeout is None else timeout
    _check_update(client, cfg, version, extra_env)
    started_before = _update_status(client, cfg).get("StartedAt")
    deployed_at = time.time()
    t0 = time.monotonic()
    stack_deploy(cfg, version, extra_env)

    states: list[tuple[str, float]] = []

    def done() -> dict[str, Any] | None:
        status = _update_status(client, cfg)
        fresh = status.get("StartedAt") not in (None, started_before)
        if fresh and (not states or states[-1][0] != status.get("State")):
            states.append((str(status.get("State")), time.monotonic() - t0))
        return status if fresh and status.get("State") in UPDATE_DONE else None

    status = wait_for(
        done,
        what=f"Swarm's update of {cfg.app_service} to {version} to end",
        timeout=deadline,
        interval=0.25,
        last_seen=lambda: str(_update_status(client, cfg)),
    )
    t1 = time.monotonic()
    final = current_version(client, cfg) or "?"
    routing = wait_settled(client, cfg, final, deadline)
    return SwarmUpdate(
        target=version,
        state=str(status.get("State")),
        message=str(status.get("Message", "")),
        update_seconds=t1 - t0,
        settled_seconds=time.monotonic() - t0,
        final_version=final,
        routing=routing,
        states=tuple(states),
        deployed_at=deployed_at,
    )
