"""The vocabulary every package shares: a replica, a release, a timed phase, and what counts as
ready. Data only: no Docker, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def routed_in(self, routed: set[str] | None) -> bool:
        """Whether Traefik lists one of the replica's addresses among the servers it routes to."""
        return bool(routed and routed.intersection(self.ips))

    @property
    def serving_state(self) -> bool:
        """Running with a health Traefik routes (drained or not is the app's to say)."""
        return self.status == "running" and is_ready(self.health)


@dataclass(frozen=True)
class Release:
    """A version of the service and the compose variables it was started with."""

    version: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamsEnded:
    """A replica's streams after it was told to end them: how many the replica ended, how many are
    still open after the wait (-1: the service does not say). A stream still open when the replica
    stops is in-flight work, and counted as cut then."""

    ended: int
    left: int = 0

    def line(self) -> str:
        """'3 stream(s) ended by the replica, 0 still open' (or that the service does not count them)."""
        if self.ended < 0:
            return "told to end its streams (the service does not count them)"
        return f"{self.ended} stream(s) ended by the replica, {self.left} still open"


@dataclass(frozen=True)
class EntrypointAnswer:
    """One request through Traefik's entrypoint: its status, the version that answered (None for
    a service that does not say its version), whether the status counts as the service's answer,
    and what an answer must be, in words."""

    status: int
    version: str | None = None
    ok: bool = True
    expected: str = "200"

    def matches(self, version: str) -> bool:
        """Answered as expected, by `version` (or by a service that does not say)."""
        return self.ok and self.version in (None, version)


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
