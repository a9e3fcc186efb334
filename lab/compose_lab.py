"""Bring the lab stack up and down, and tell what runs and what Traefik routes."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx

from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import memory_usage, replicas, service_containers
from zerodrop.adapters.engine_lock import PROJECT_LABEL as LOCK_PROJECT_LABEL
from zerodrop.adapters.engine_lock import remove_project_locks
from zerodrop.adapters.traefik_api import get_through_traefik, routed_ips
from zerodrop.errors import InputError, TraefikUnavailable
from zerodrop.model import Release, Replica, is_ready
from zerodrop.parallel import each
from zerodrop.rollout.history import current_release, forget
from zerodrop.rollout.lock import rollout_lock
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for


@dataclass(frozen=True)
class Routing:
    """One look at the service: its replicas and the IPs Traefik routes to."""

    replicas: list[Replica]
    routed: set[str]

    def summary(self) -> str:
        """One line: each replica with its health and whether it is routed."""
        parts = [
            f"{r.name} {r.version} {r.health}{' routed' if r.routed_in(self.routed) else ''}"
            for r in self.replicas
        ]
        return f"{len(self.routed)} routed; " + ", ".join(parts or ["no replicas"])


def routing_now(client: docker.DockerClient, cfg: ComposeTarget) -> Routing:
    """The service's replicas and Traefik's servers, now (no servers if Traefik is not up yet)."""
    try:
        routed = routed_ips(cfg.api_url, cfg.traefik_service)
    except TraefikUnavailable:
        routed = set()
    return Routing(replicas(client, cfg.project, cfg.service), routed)


def wait_all_routed(
    client: docker.DockerClient, cfg: ComposeTarget, expected: int, timeout: float
) -> Routing:
    """Wait until exactly `expected` replicas run, all healthy, and Traefik routes to exactly them."""
    last: list[Routing] = []

    def check() -> Routing | None:
        seen = routing_now(client, cfg)
        last[:] = [seen]
        ips = {ip for r in seen.replicas for ip in r.ips}
        # "none": the healthcheck is disabled, and Traefik routes a running container at once.
        healthy = [r for r in seen.replicas if is_ready(r.health)]
        if len(seen.replicas) == expected == len(healthy) and seen.routed == ips and ips:
            return seen
        return None

    return wait_for(
        check,
        what=f"{expected} healthy replicas of {cfg.service}, all routed by Traefik",
        timeout=timeout,
        last_seen=lambda: last[0].summary() if last else "nothing",
    )


def ensure_images(
    client: docker.DockerClient, cfg: ComposeTarget, versions: tuple[str, ...] = ("v1", "v2")
) -> None:
    """Build the app image of each version once (cached layers make repeats quick), so that no
    measured step includes a build."""
    for version in versions:
        compose.build(cfg, [cfg.service], extra_env={"APP_VERSION": version})


def smoke_request(cfg: ComposeTarget) -> httpx.Response:
    """One quick GET /health through Traefik."""
    return get_through_traefik(cfg, "/health")


@dataclass(frozen=True)
class UpReport:
    """What `lab up` did and how long each part took."""

    build_seconds: float
    start_seconds: float
    routed_seconds: float
    routing: Routing


def up_release(running_versions: list[str], recorded: Release | None) -> Release | None:
    """What `lab up` keeps on a running stack: the version its replicas run (with the recorded
    variables if the last completed rollout deployed that version); None when nothing runs (then
    the recorded release, or the defaults). Mixed versions (a rollout interrupted half-way) are
    refused: `up` would recreate replicas in place, with no readiness gate."""
    versions = sorted(set(running_versions))
    if not versions:
        return None
    if len(versions) > 1:
        raise InputError(
            f"the running replicas are on several versions ({', '.join(versions)}): "
            "`python -m lab rollout --to VERSION` or `python -m lab recover` first; nothing changed"
        )
    env = recorded.env if recorded is not None and recorded.version == versions[0] else {}
    return Release(versions[0], env)


def lab_up(client: docker.DockerClient, cfg: ComposeTarget, build: bool = True) -> UpReport:
    """Build the images, start the stack, and wait until Traefik routes every replica. Under the
    rollout lock; on a running stack it keeps the version its replicas run and recreates none."""
    with rollout_lock(cfg.state_dir, cfg.project, "lab up"):
        recorded = current_release(cfg.state_dir, cfg.project)
        running = up_release([r.version for r in replicas(client, cfg.project, cfg.service)], recorded)
        release = running or recorded
        deployed = {} if release is None else {**release.env, "APP_VERSION": release.version}
        t0 = time.monotonic()
        if build:
            compose.build(cfg, defaults=deployed)
        t1 = time.monotonic()
        compose.up(cfg, "--remove-orphans", *(["--no-recreate"] if running else []), defaults=deployed)
        t2 = time.monotonic()
        routing = wait_all_routed(client, cfg, cfg.replicas, timeout=cfg.up_timeout)
        t3 = time.monotonic()
    return UpReport(t1 - t0, t2 - t1, t3 - t2, routing)


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a stack beside the lab)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lab_down(cfg: ComposeTarget, grace: int = 40) -> None:
    """Remove the stack (each container stopped with at most `grace` seconds): containers,
    networks and volumes, the engine locks a killed rollout left, and forget its rollout history;
    under the rollout lock, so never in the middle of a rollout."""
    with rollout_lock(cfg.state_dir, cfg.project, "lab down"):
        compose.down(cfg, grace)
        client = docker.from_env()
        try:
            remove_project_locks(client, cfg.project)
        finally:
            client.close()
        forget(cfg.state_dir, cfg.project)


def leftovers(client: docker.DockerClient, project: str) -> list[str]:
    """Names of any containers, running or not, still labelled with the project, or holding one of
    its engine locks."""
    locks = client.containers.list(all=True, filters={"label": f"{LOCK_PROJECT_LABEL}={project}"})
    return [c.name or c.id or "?" for c in [*service_containers(client, project, all=True), *locks]]


@contextmanager
def private_project(
    client: docker.DockerClient,
    base: ComposeTarget,
    prefix: str,
    variables: Mapping[str, str],
    replicas: int = 2,
    *,
    override: Path | None = None,
) -> Iterator[ComposeTarget]:
    """A fresh v1 compose project beside the lab: `<prefix>-<random>` on free loopback ports, with
    the given compose variables (and a compose override file on top of the lab's own), answering
    through Traefik before it is handed over; always removed, with its rollout state, however the
    block ends. The removal kills what still runs: every verdict is taken inside the block (a
    final write check stops the replicas gracefully itself), and a graceful stop here would only
    spend each replica's lame-duck window, or a page's long shutdown work, for nothing."""
    cfg = base.with_overrides(
        compose_files=(*base.compose_files, override) if override else base.compose_files,
        project=f"{prefix}-{uuid.uuid4().hex[:6]}",
        http_port=free_loopback_port(),
        api_port=free_loopback_port(),
        replicas=replicas,
        variables={"APP_VERSION": "v1", **variables},
        state_dir=base.out_dir / f"{prefix}-state",
    )
    try:
        lab_up(client, cfg, build=False)
        # Routed is not ready when the healthcheck is off (workshop 04): start from a stack that answers.
        wait_for(
            lambda: all(smoke_request(cfg).status_code == 200 for _ in range(10)),
            what="the stack to answer",
            timeout=60,
            interval=0.5,
        )
        yield cfg
    finally:
        lab_down(cfg, grace=0)


def memory_by_container(client: docker.DockerClient, cfg: ComposeTarget) -> dict[str, int]:
    """Bytes of memory each running container of the stack uses now (Traefik and every replica)."""
    running = service_containers(client, cfg.project)
    used = each(memory_usage, running)
    return {c.name or c.id or "?": n for c, n in zip(running, used, strict=True)}
