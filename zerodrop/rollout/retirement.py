"""One replica's retirement (the pool of them runs in zerodrop.rollout.retirement_pool).

Retiring a replica Traefik no longer routes: wait until idle, stop with the grace period,
remove; and the account of any work that had to be cut."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

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
) -> CutWork | None:
    """For a replica Traefik no longer routes: wait until idle (at most its grace period), stop it
    with that grace, remove it. Work still in flight at the deadline, or an unclean exit, is
    returned (and printed) as cut work.

    `before_stop` may still call the stop off (the replica stays running; None is returned);
    `membership` is held for the removal."""
    out_at = time.time()  # Traefik has just dropped it (drain-to-out)
    end_streams(platform, gates, log, replica, label=label, call_timeout=call_timeout)
    with log.phase("drain-to-idle", label, drain_began) as record:
        left = gates.idle(replica, replica.stop_timeout)
        if left is None:
            record.detail = "the service does not say what is in flight: stopping with its grace period"
        elif left:
            record.detail = f"{'?' if left < 0 else left} in flight at the grace deadline; stopping anyway"
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
