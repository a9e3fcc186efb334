"""One replica's retirement (the pool of them runs in zerodrop.rollout.retirement_pool).

Retiring a drained replica: wait until Traefik no longer routes it, then until idle, stop with the
grace period, remove; the account of any work that had to be cut; and the record of one retirement
under way."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from zerodrop.errors import PlatformUnavailable
from zerodrop.model import Replica, StreamsEnded
from zerodrop.rollout.deadlines import DOCKER_STOP_GRACE
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits

STREAMS_WAIT = 5.0  # seconds a replica's streams have to close after their goodbye
KILLED = 137  # a container's exit status after SIGKILL


@dataclass(frozen=True)
class CutWork:
    """An old replica stopped while it still had work: requests or streams in flight, or an
    unclean exit."""

    replica: str
    inflight: int  # at the grace deadline (streams still open included); -1 when it could not be read
    exit_code: int | None
    says_inflight: bool = True  # False: the service declares no in-flight endpoint
    grace: float = 0.0  # the stop's grace period
    since_out: float | None = None  # seconds from Traefik dropping it to its exit

    def line(self) -> str:
        """'app-1: 2 request(s) or stream(s) in flight at the grace deadline, exit 137 (SIGKILL)'."""
        if self.exit_code == KILLED and not self.says_inflight:
            return self._killed_blind()
        count = "an unknown number of" if self.inflight < 0 else str(self.inflight)
        parts = [f"{count} request(s) or stream(s) in flight at the grace deadline"] if self.inflight else []
        if self.exit_code not in (0, None):
            killed = " (SIGKILL: its shutdown work was cut)" if self.exit_code == 137 else ""
            parts.append(f"exit {self.exit_code}{killed}")
        return f"{self.replica}: {', '.join(parts)}"

    def _killed_blind(self) -> str:
        """A SIGKILL at the grace deadline of a service that cannot say what it was doing: what is
        known, and the one likely cause with its fix."""
        since = f", {self.since_out:.1f}s after Traefik dropped it" if self.since_out is not None else ""
        return (
            f"{self.replica}: killed at the grace deadline ({self.grace:g}s{since}; exit 137). It "
            "declares no in-flight endpoint, so nothing says whether work was cut. Likely cause: a "
            "server that waits at shutdown for idle keep-alive connections, which Traefik holds open "
            "for its idleConnTimeout (90s by default): set "
            "--serversTransport.forwardingTimeouts.idleConnTimeout below the stop grace period, or "
            "have the server close idle connections when it stops"
        )


def retire(
    platform: ServicePlatform,
    gates: ReplicaWaits,
    log: RolloutLog,
    replica: Replica,
    *,
    label: str,
    drain_began: float,
    call_timeout: float,
    before_stop: Callable[[], bool] = lambda: True,
    membership: AbstractContextManager[object] | None = None,
    route_timeout: float | None = None,
    on_out: Callable[[], None] = lambda: None,
) -> CutWork | None:
    """For a drained replica: with `route_timeout`, first wait until Traefik no longer routes it
    (drain-to-out); then wait until idle (at most its grace period), stop it with that grace,
    remove it. Work still in flight at the deadline, or an unclean exit, is returned (and
    printed) as cut work.

    `on_out` is told once Traefik has dropped it (it may still call the retirement off by
    raising); `before_stop` may still call the stop off (the replica stays running; None is
    returned); `membership` is held for the removal."""
    if route_timeout is not None:
        leave_rotation(
            gates, log, replica, label=label, drain_began=drain_began, timeout=route_timeout, on_out=on_out
        )
    out_at = time.time()  # Traefik has just dropped it (drain-to-out)
    end_streams(platform, gates, log, replica, label=label, call_timeout=call_timeout)
    left = wait_idle(gates, log, replica, label=label, drain_began=drain_began)
    if not before_stop():
        return None
    with log.phase("stop", label) as record:
        grace = stop_grace(replica)
        code = gates.call(
            lambda: platform.stop(replica.id, grace), f"stopping {replica.name}", grace + call_timeout
        )
        record.detail = f"exit {code}"
    cut = (
        CutWork(replica.name, left or 0, code, left is not None, grace, time.time() - out_at)
        if left or code not in (0, None)
        else None
    )
    if cut is not None:
        log.note(f"CUT WORK: {cut.line()}")
    with membership or contextlib.nullcontext():
        gates.call(lambda: platform.remove(replica.id), f"removing {replica.name}", call_timeout)
    return cut


def wait_idle(
    gates: ReplicaWaits, log: RolloutLog, replica: Replica, *, label: str, drain_began: float
) -> int | None:
    """Wait until a replica out of rotation is idle, at most its grace period (drain-to-idle):
    what it still served then (0 idle, -1 unknown, None: the service cannot say)."""
    with log.phase("drain-to-idle", label, drain_began) as record:
        left = gates.idle(replica, replica.stop_timeout)
        if left is None:
            record.detail = "the service does not say what is in flight: stopping with its grace period"
        elif left:
            record.detail = f"{'?' if left < 0 else left} in flight at the grace deadline; stopping anyway"
    return left


def leave_rotation(
    gates: ReplicaWaits,
    log: RolloutLog,
    replica: Replica,
    *,
    label: str,
    drain_began: float,
    timeout: float,
    on_out: Callable[[], None],
) -> None:
    """Wait until Traefik no longer routes a drained replica (drain-to-out), then say so."""
    with log.phase("drain-to-out", label, drain_began):
        gates.unrouted(replica, timeout)
        on_out()


def end_streams(
    platform: ServicePlatform,
    gates: ReplicaWaits,
    log: RolloutLog,
    replica: Replica,
    *,
    label: str,
    call_timeout: float,
) -> StreamsEnded | None:
    """Tell a replica Traefik no longer routes to end its streams, and log what it said (None:
    the service has no streams to end)."""
    began = time.time()
    ended = gates.call(
        lambda: platform.end_streams(replica.id, STREAMS_WAIT),
        f"ending the streams of {replica.name}",
        STREAMS_WAIT + call_timeout,
    )
    if ended is not None:
        with log.phase("streams-closed", label, began) as record:
            record.detail = ended.line()
    return ended


def stop_grace(replica: Replica) -> float:
    """How long a stop waits for the replica before SIGKILL: its own stop_grace_period, never less
    than Docker's default (a container created without one reports 0)."""
    return max(replica.stop_timeout, DOCKER_STOP_GRACE)


def still_serves(platform: ServicePlatform, replica: Replica) -> bool:
    """Whether a replica runs and is healthy; True when Docker does not answer (unknown: the
    rollout's own watch decides)."""
    try:
        state = platform.find(replica.id)
    except PlatformUnavailable:
        return True
    return state is not None and state.serving_state


@dataclass
class Retirement:
    """One old replica on its way out, on its own thread."""

    replica: Replica
    drain_began: float
    successors: list[Replica]
    confirm_out: bool = False  # it may still be routed: wait until Traefik drops it first
    out: bool = False  # Traefik has dropped it: its batch is handed over as far as it goes
    reclaim: threading.Event = field(default_factory=threading.Event)
    stopping: bool = False
    reclaimed: bool = False
    held: bool = False  # its stop was held back: a successor did not serve at that moment
    failed: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
