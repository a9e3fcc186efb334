"""What a rollout needs from the world, for one service: the only way the engine reaches Docker,
Traefik and the app. `zerodrop.adapters.docker_platform.DockerPlatform` implements it for compose;
the unit tests' scripted fake implements it too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from zerodrop.model import EntrypointAnswer, Release, Replica, StreamsEnded
from zerodrop.rollout.deadlines import TimedService


class ServicePlatform(Protocol):
    """The operations a rolling replacement is made of, for one service."""

    @property
    def reclaimable(self) -> bool:
        """Whether a drained replica can be put back in rotation (not after a SIGTERM drain)."""
        ...

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

    @property
    def answer_timeout(self) -> float:
        """Seconds one request through the entrypoint may take."""
        ...

    def entrypoint_answer(self) -> EntrypointAnswer:
        """One real request through Traefik's entrypoint, as the service's router declares it: the
        status, whether it counts as answered, and the version that answered ("" if it should
        have said and did not; None for a service that does not say its version)."""
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

    def inflight(self, replica_id: str, wait: float = 0.0) -> int | None:
        """Work requests the replica is serving now; with `wait`, answered as soon as there are
        none, or after `wait` seconds. None: the service has no way to say (it is then stopped
        with its grace period as soon as Traefik has dropped it)."""
        ...

    def end_streams(self, replica_id: str, wait: float) -> StreamsEnded | None:
        """Tell a replica Traefik no longer routes to end its long-lived streams (each says goodbye
        and its client reconnects elsewhere), and wait up to `wait` for them to close; None when
        the service has no streams to end."""
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


class RolloutPlatform(ServicePlatform, TimedService, Protocol):
    """A platform a whole rollout runs on: the service, its timing, and a way to end a long call
    (a build, a scale) as soon as the rollout is interrupted."""

    should_stop: Callable[[], bool]
