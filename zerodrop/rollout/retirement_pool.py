"""The pool of retirements, one replica each (zerodrop.rollout.retirement), run side by side.

Pipelined retirement: drained old replicas leave Traefik's rotation (confirmed in its API), finish
their in-flight requests and stop in the background, each on its own thread, while the rollout
starts its next batch (a drained replica still serves what Traefik sends it until it is out, and
from then on nothing waits on it but its own clients).

A retirement can be reclaimed while it still waits for its replica to leave rotation or go idle:
the replica is then left running, drained, for the undo to put back in rotation. Its batch is
handed over once every old replica of it is out of rotation; a stop of the rollout (an interrupt
as soon as it is requested, a failure when the rollout undoes) reclaims every retirement whose
replica is not out yet, so the batches under way are undone, not half handed over. Once its
stop has begun it is not reclaimed; it finishes. Nor does it begin while a replica that took over
from it (its batch's new replicas) does not serve: the old one is then held back, running and
drained, for the undo.

Removals take their shared turn of `membership` (zerodrop.rollout.membership), which compose adding replicas
takes alone: compose counts the service's containers, so none may vanish while it runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

from zerodrop.errors import PlatformUnavailable, Reclaimed, RolloutFailed, WaitTimeout, first_line
from zerodrop.model import Replica
from zerodrop.rollout.deadlines import DOCKER_STOP_GRACE
from zerodrop.rollout.membership import Membership
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.retirement import CutWork, Retirement, retire, still_serves, stop_grace


class Retirements:
    """The old replicas currently retiring; what their retirement cut, and what went wrong."""

    def __init__(
        self,
        platform: ServicePlatform,
        log: RolloutLog,
        *,
        poll: float,
        call_timeout: float,
        membership: Membership,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.platform = platform
        self.stopping = stopping  # the rollout was asked to stop (an interrupt)
        self.log = log
        self.poll = poll
        self.call_timeout = call_timeout
        self.membership = membership
        self.all: list[Retirement] = []
        self.cut: list[CutWork] = []
        self.errors: list[str] = []
        self.ended = threading.Event()  # set each time a retirement ends: a wait on them wakes at once
        self._lock = threading.Lock()

    def bound(self) -> float:
        """How long the slowest retirement can take: leaving rotation, idle and stop within its
        grace (at least 10 s), removal, and each step's calls, plus a margin."""
        graces = [stop_grace(r.replica) for r in self.all] or [DOCKER_STOP_GRACE]
        return 2 * max(graces) + 4 * self.call_timeout + 10

    def active(self) -> int:
        """Retirements not finished yet: old replicas still running or stopping."""
        return len(self.pending())

    def pending(self) -> list[Retirement]:
        """The retirements not finished yet."""
        return [r for r in self.all if not r.done.is_set()]

    def start(
        self, replica: Replica, drain_began: float, successors: list[Replica], *, confirm_out: bool = False
    ) -> None:
        """Retire a drained replica in the background (with `confirm_out`, one Traefik may still
        route: its retirement first waits until Traefik drops it); `successors` must still serve
        when its stop begins."""
        retirement = Retirement(replica, drain_began, list(successors), confirm_out, out=not confirm_out)
        retirement.thread = threading.Thread(
            target=self._run, args=(retirement,), name=f"retire-{replica.name}", daemon=True
        )
        self.all.append(retirement)
        retirement.thread.start()

    def _rollout_stops(self) -> bool:
        """The rollout was interrupted, or a retirement failed (it will stop at its next look):
        from now on no batch is handed over."""
        return self.stopping() or bool(self.errors)

    def _guard(self, retirement: Retirement) -> None:
        """Before each poll of a retirement: Reclaimed once it is reclaimed, or once the rollout
        is interrupted before its replica is out (its batch is then not handed over)."""
        if not retirement.out and self._rollout_stops():
            with self._lock:
                if not retirement.out:
                    retirement.reclaim.set()
        if retirement.reclaim.is_set():
            raise Reclaimed(f"reclaimed: {retirement.replica.name} stays running for the undo")

    def _on_out(self, retirement: Retirement) -> None:
        """Its replica has left rotation: its batch is handed over, unless it was reclaimed (or
        the rollout interrupted) first."""
        with self._lock:
            if not retirement.reclaim.is_set() and not self._rollout_stops():
                retirement.out = True
                return
            retirement.reclaim.set()
        raise Reclaimed(f"reclaimed: {retirement.replica.name} stays running for the undo")

    def _claim_stop(self, retirement: Retirement) -> bool:
        """Whether its stop may begin: every successor serves and it was not reclaimed."""
        if not all(still_serves(self.platform, s) for s in retirement.successors):
            self.log.note(
                f"holding old {retirement.replica.name} back: a replica that took over stopped serving"
            )
            retirement.reclaimed = retirement.held = True
            return False
        with self._lock:
            if retirement.reclaim.is_set():
                retirement.reclaimed = True
                return False
            retirement.stopping = True
            return True

    def _run(self, retirement: Retirement) -> None:
        replica = retirement.replica
        try:
            cut = retire(
                self.platform,
                ReplicaWaits(
                    self.platform, self.poll, guard=partial(self._guard, retirement), progress=self.log.note
                ),
                self.log,
                replica,
                label=f"old {replica.name}",
                drain_began=retirement.drain_began,
                call_timeout=self.call_timeout,
                before_stop=partial(self._claim_stop, retirement),
                membership=self.membership.stopping(),
                route_timeout=self.call_timeout if retirement.confirm_out else None,
                on_out=partial(self._on_out, retirement),
            )
            if cut is not None:
                with self._lock:
                    self.cut.append(cut)
        except Reclaimed:
            retirement.reclaimed = True
        except BaseException as error:  # a thread has no caller: keep the reason for the rollout
            reason = first_line(error)
            if not isinstance(error, WaitTimeout | PlatformUnavailable):
                reason = f"{type(error).__name__}: {reason}"
            retirement.failed = True
            with self._lock:
                self.errors.append(f"retiring old {replica.name}: {reason}")
        finally:
            retirement.done.set()
            self.ended.set()

    def reclaim(self, replicas: list[Replica]) -> list[Replica]:
        """Stop retiring these replicas if their stop has not begun, and wait for those whose stop
        has; the replicas whose retirement did not end in their removal (reclaimed, held back or
        failed: the undo finds out whether they still run).

        A reclaimed retirement is not waited for: its stop can no longer begin (it is claimed
        under the same lock), and its thread ends at its next look, up to an idle hold later."""
        wanted = {r.id for r in replicas}
        mine = [r for r in self.all if r.replica.id in wanted]
        with self._lock:
            for retirement in mine:
                if not retirement.stopping:
                    retirement.reclaim.set()
                    retirement.reclaimed = True
        for retirement in mine:
            if retirement.stopping:
                self._wait_done(retirement)
        return [r.replica for r in mine if r.reclaimed or r.failed]

    def hold_under_way(self) -> None:
        """The rollout stops: every retirement whose replica Traefik has not dropped yet is
        reclaimed now (its batch is under way, to be undone), whatever happens after."""
        with self._lock:
            for retirement in self.all:
                if not retirement.out and not retirement.done.is_set():
                    retirement.reclaim.set()
                    retirement.reclaimed = True

    def handed_over(self, replicas: list[Replica]) -> bool:
        """Whether Traefik has dropped every one of these replicas (their batch is handed over)."""
        wanted = {r.id for r in replicas}
        return all(r.out for r in self.all if r.replica.id in wanted)

    def held_back(self) -> list[Retirement]:
        """Ended retirements whose stop was held back (not reclaimed by the rollout): their old
        replica still runs, drained."""
        return [r for r in self.all if r.done.is_set() and r.held and not r.reclaim.is_set()]

    def retry(self, retirement: Retirement) -> None:
        """Retire a held-back replica again, from its idle wait (it is still out of rotation)."""
        self.all.remove(retirement)
        self.start(retirement.replica, retirement.drain_began, retirement.successors, confirm_out=True)

    def failed(self, replicas: list[Replica]) -> bool:
        """Whether the retirement of any of these replicas failed."""
        wanted = {r.id for r in replicas}
        return any(r.failed for r in self.all if r.replica.id in wanted)

    def finish(self) -> None:
        """Wait until every retirement has ended, all within one bound (each is bounded by its
        own deadlines, and they run side by side): N retirements never take N bounds."""
        deadline = time.monotonic() + self.bound()
        for retirement in list(self.all):
            self._wait_done(retirement, deadline)

    def _wait_done(self, retirement: Retirement, deadline: float | None = None) -> None:
        left = self.bound() if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not retirement.done.wait(left):
            with self._lock:
                self.errors.append(f"retiring old {retirement.replica.name}: still not done")

    def wait_all(self, gates: ReplicaWaits, check_successors: Callable[[], None], retries: int) -> None:
        """Wait until every old replica has stopped, calling `check_successors` after each round.
        An old replica held back because a successor did not serve at that moment retires after
        all once every successor serves again (a health flap), up to `retries` times; then the
        rollout fails."""
        for _ in range(retries + 1):
            if self.active():
                gates.until(
                    lambda: self.active() == 0, "the old replicas to retire", self.bound(), self.ended
                )
            self.finish()
            check_successors()  # a retirement holds its replica back if its successor died
            if self.errors:
                raise RolloutFailed(self.errors[0])
            held = self.held_back()
            if not held:
                return
            for retirement in held:
                self.log.note(f"retiring old {retirement.replica.name} after all: its successors serve")
                self.retry(retirement)
        names = ", ".join(r.replica.name for r in self.held_back())
        raise RolloutFailed(f"old replica(s) {names} held back: a successor keeps failing to serve")
