"""The lab's domain, in one place: a replica, a release, a timed phase, what counts as ready, and
what a rollout needs from the world (the platform protocol). No Docker, no HTTP: the rollout
engine, the gates and recovery depend on this module, and the Docker adapter implements it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# Docker health states in which Traefik's docker provider routes a running container ("none": the
# container has no healthcheck, so it is routed as soon as it runs).
READY_HEALTH = frozenset({"healthy", "none"})


def is_ready(health: str) -> bool:
    """Whether Traefik routes a running container with this Docker health."""
    return health in READY_HEALTH


@dataclass(frozen=True)
class Replica:
    """What the lab needs to know of one container of a service."""

    id: str
    name: str
    hostname: str
    image: str
    version: str
    status: str
    health: str
    ips: tuple[str, ...]
    number: int
    stop_timeout: float = 10.0
    created: float | None = None

    @property
    def short_id(self) -> str:
        """The 12-character id Docker shows (and the app reports as its replica name)."""
        return self.id[:12]

    @property
    def serving_state(self) -> bool:
        """Running with a health Traefik routes (drained or not is the app's to say)."""
        return self.status == "running" and is_ready(self.health)


@dataclass(frozen=True)
class Release:
    """A version of the service and the compose variables it was started with."""

    version: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class PhaseRecord:
    """One timed step of a rollout, for progress lines, summaries, reports and plots."""

    phase: str
    replica: str
    start: float
    end: float = 0.0
    ok: bool = True
    detail: str = ""

    @property
    def seconds(self) -> float:
        """How long the step took."""
        return self.end - self.start


class ServicePlatform(Protocol):
    """The operations a rolling replacement is made of, for one service."""

    def replicas(self, include_stopped: bool = False) -> list[Replica]:
        """Running replicas of the service (and stopped containers of it, if asked)."""
        ...

    def phase(self, replica_id: str) -> str:
        """The app's own phase: starting, ready or draining ("gone" if it does not run)."""
        ...

    def find(self, replica_id: str) -> Replica | None:
        """A replica's current state (running or not), None if it no longer exists."""
        ...

    def routed_ips(self) -> set[str]:
        """IPs Traefik's load balancer for the service sends to now."""
        ...

    def route_problem(self) -> str | None:
        """What keeps Traefik's router for the service from routing as it did when first asked
        (gone, disabled, in error, or another rule); None when it routes."""
        ...

    def entrypoint_answer(self) -> tuple[int, str]:
        """One real request through Traefik's entrypoint with the service's Host header: the
        status, and the version that answered ("" if none said)."""
        ...

    def image_exists(self, release: Release) -> bool:
        """Whether the release's image is present locally."""
        ...

    def build(self, release: Release) -> None:
        """Build the release's image."""
        ...

    def scale_up(self, release: Release, total: int) -> None:
        """Add replicas of `release` until the service has `total` containers (stopped ones count,
        and are never started again), leaving existing ones alone."""
        ...

    def drain(self, replica_id: str) -> None:
        """Make the replica fail readiness while it keeps serving."""
        ...

    def undrain(self, replica_id: str) -> None:
        """Make a drained replica pass readiness again."""
        ...

    def inflight(self, replica_id: str, wait: float = 0.0) -> int:
        """Work requests the replica is serving now; with `wait`, answered as soon as there are
        none, or after `wait` seconds."""
        ...

    def stop(self, replica_id: str, timeout: float) -> int | None:
        """Stop a replica Traefik no longer routes (it has drained, so the rest of its lame-duck
        window is skipped; SIGKILL after `timeout`); its exit code."""
        ...

    def remove(self, replica_id: str) -> None:
        """Remove the replica's container (forcefully if it still runs)."""
        ...

    def diagnostics(self, replica_id: str) -> list[str]:
        """Health log and last log lines, for a replica that failed."""
        ...
