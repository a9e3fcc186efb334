"""The observed states that gate each step of a rollout: healthy, routed, unrouted, idle.

Each gate polls the platform until the state holds or its deadline passes. A failed Docker or
Traefik call (PlatformUnavailable) counts as "not yet" and is retried within the same deadline.
A `guard` runs before every poll and raises to abandon the wait at once: the rollout uses it to
notice an interrupt, or a new replica that stopped serving while an old one drains.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from zerodrop.errors import PlatformUnavailable, ReplicaLost, RouteBroken, WaitTimeout
from zerodrop.model import READY_HEALTH, Replica
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.waits import wait_for

T = TypeVar("T")
DEFAULT_POLL = 0.25
# The idle gate asks the app to hold its answer until nothing is in flight, at most this long: the
# rollout learns of idleness within ~20 ms instead of a poll and an in-container request later, and
# under load (where each request is a process start that waits ~0.4 s for CPU) it makes one request
# per hold, not four a second. A reclaim does not wait for the hold to end (zerodrop.rollout.retirement_pool).
IDLE_LONG_POLL = 2.0
PROGRESS_AFTER = 5.0  # seconds a wait runs before it says what it awaits


def _no_guard() -> None:
    return None


@dataclass
class ReplicaWaits:
    """Bounded waits on one service's replicas, as Docker and Traefik's API report them."""

    platform: ServicePlatform
    poll: float = DEFAULT_POLL
    guard: Callable[[], None] = _no_guard
    # A wait still running after `progress_after` seconds says once what it awaits, by when.
    progress: Callable[[str], None] | None = None
    progress_after: float = PROGRESS_AFTER
    fewest_routed: int | None = field(default=None, init=False)

    def _wait(
        self,
        check: Callable[[], T | None],
        what: str,
        timeout: float,
        last: Callable[[], str],
        wake: threading.Event | None = None,
    ) -> T:
        began, said = time.monotonic(), [self.progress is None]

        def guarded() -> T | None:
            self.guard()
            if not said[0] and time.monotonic() - began > self.progress_after and self.progress:
                said[0] = True
                self.progress(f"waiting for {what} (up to {timeout:.0f}s; now: {last()})")
            return check()

        return wait_for(
            guarded, what=what, timeout=timeout, interval=self.poll, last_seen=last,
            transient=(PlatformUnavailable,), wake=wake,
        )  # fmt: skip

    def routed_ips(self) -> set[str]:
        """Traefik's servers for the service now; the fewest ever seen is kept as an observation."""
        ips = self.platform.routed_ips()
        if self.fewest_routed is None or len(ips) < self.fewest_routed:
            self.fewest_routed = len(ips)
        return ips

    def is_routed(self, replica: Replica) -> bool:
        """Whether Traefik's API lists the replica among the service's servers."""
        return replica.routed_in(self.routed_ips())

    def healthy(self, replica: Replica, timeout: float) -> Replica:
        """Wait until Docker reports the replica healthy; ReplicaLost at once if it exits."""
        seen = ["not inspected yet"]

        def check() -> Replica | None:
            now = self.platform.find(replica.id)
            if now is None or now.status in {"exited", "dead"}:
                state = "removed" if now is None else now.status
                raise ReplicaLost(f"new replica {replica.name} {state} before becoming healthy")
            seen[0] = f"{now.status}, health {now.health}"
            return now if now.health in READY_HEALTH else None

        return self._wait(check, f"{replica.name} healthy", timeout, lambda: seen[0])

    def route_works(self) -> None:
        """RouteBroken unless Traefik's router for the service routes as it did."""
        problem = self.platform.route_problem()
        if problem is not None:
            raise RouteBroken(problem)

    def routed(self, replica: Replica, timeout: float) -> None:
        """Wait until Traefik's API lists the replica among the service's servers, with the
        service's router intact; RouteBroken at once if the router is not (waiting cannot mend
        a router two definitions disagree on)."""

        def check() -> bool:
            if not self.is_routed(replica):
                return False
            self.route_works()
            return True

        self._wait(
            check,
            f"Traefik to route {replica.name}",
            timeout,
            lambda: f"Traefik routes {sorted(self.platform.routed_ips())}, replica at {list(replica.ips)}",
        )

    def back_in(self, replica: Replica, timeout: float) -> None:
        """Wait until an undrained replica is back for good: the app says it is ready again (not
        draining, so Docker's next healthcheck passes) and Traefik's API lists it. Listed alone
        is not enough: Traefik may not yet have dropped a replica that still fails readiness."""
        seen = ["not asked yet"]

        def check() -> bool:
            phase = self.platform.phase(replica.id)
            seen[0] = f"phase {phase}"
            if phase == "gone":
                raise ReplicaLost(f"{replica.name} no longer runs")
            return phase == "ready" and self.is_routed(replica)

        self._wait(check, f"{replica.name} back in rotation", timeout, lambda: seen[0])

    def unrouted(self, replica: Replica, timeout: float) -> None:
        """Wait until Traefik's API no longer lists the replica."""
        self._wait(
            lambda: not self.is_routed(replica),
            f"Traefik to stop routing {replica.name}",
            timeout,
            lambda: f"Traefik still routes {sorted(self.platform.routed_ips())}",
        )

    def idle(self, replica: Replica, timeout: float) -> int | None:
        """Wait until the replica serves no work request, at most `timeout`; how many it still
        served at the end (0: idle; -1: unknown, the count could not be read at the deadline;
        None at once: the service has no way to say)."""
        last: list[int | None] = [-1]

        def check() -> bool:
            last[0] = -1
            last[0] = self.platform.inflight(replica.id, wait=IDLE_LONG_POLL)
            return last[0] is None or last[0] == 0

        try:
            self._wait(check, f"{replica.name} idle", timeout, lambda: f"{last[0]} in flight")
        except WaitTimeout:
            return last[0]
        return last[0]

    def until(
        self, check: Callable[[], bool], what: str, timeout: float, wake: threading.Event | None = None
    ) -> None:
        """Wait until `check` holds (the guard runs before every poll); `wake` set: check at once."""
        self._wait(check, what, timeout, lambda: "not yet", wake)

    def call(self, action: Callable[[], T], what: str, timeout: float) -> T:
        """Run a platform action, retrying it while it fails with PlatformUnavailable, at most
        `timeout` seconds; WaitTimeout (naming the last error) after that."""
        result: list[T] = []

        def attempt() -> bool:
            result[:] = [action()]
            return True

        self._wait(attempt, what, timeout, lambda: "no attempt finished")
        return result[0]
