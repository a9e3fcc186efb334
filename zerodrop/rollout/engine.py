"""Zero-downtime rolling replacement of a service's replicas, gated on Traefik's own view.

Per batch (one replica by default): start the new replicas beside the old ones; wait until Docker
calls them healthy and Traefik lists them; check once more that they serve; drain the old ones
(they fail readiness but serve on) and wait until Traefik no longer lists them. From there the old
replicas retire in the background (wait until idle, stop with the full grace period, remove) while
the next batch begins: they receive no traffic, so only their own clients wait for them. At most
`max_draining` old replicas retire at once; the next batch waits for room.

Every new replica is watched until the rollout ends. If one stops serving, the rollout stops:
it undoes its current batch, and for any earlier batch whose new replicas no longer all serve, it
puts the old replicas that have not begun to stop back in rotation first.

The invariant: Traefik never routes fewer ready replicas than when the rollout began. Any failure,
exception or interrupt runs the same undo, which restores it, and the rollout then says what
serves now, as Docker and Traefik report it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

from zerodrop.errors import (
    PlatformUnavailable,
    ReplicaLost,
    RolloutFailed,
    RolloutInputError,
    RolloutInterrupted,
    RouteBroken,
    WaitTimeout,
)
from zerodrop.model import PhaseRecord, Replica
from zerodrop.rollout.membership import Membership
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import Batch, RolloutOptions, Timeouts, plan_batches
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import Gates
from zerodrop.rollout.retire import CutWork
from zerodrop.rollout.retirements import Retirements, still_serves
from zerodrop.rollout.undo import Undo

HELD_BACK_RETRIES = 3  # an old replica held back by a successor's health flap is retried this often


@dataclass
class Interrupt:
    """Set from a signal handler; the rollout notices it at its next poll or step."""

    signum: int | None = None

    def request(self, signum: int) -> bool:
        """Record the first signal; whether this one was the first."""
        first = self.signum is None
        if first:
            self.signum = signum
        return first


@dataclass(frozen=True)
class RolloutResult:
    """What a finished rollout replaced, how long it took, and what it had to cut."""

    replaced: list[tuple[str, str]]
    seconds: float
    records: list[PhaseRecord]
    cut: list[CutWork] = field(default_factory=list)
    started_with: int = 0
    fewest_routed: int | None = None
    peak_replicas: int = 0  # the most running replicas of the service seen at once
    batches: list[tuple[list[str], list[str]]] = field(default_factory=list)  # (old, new) names


class RolloutEngine:
    """Carries one rollout out on a platform."""

    def __init__(
        self,
        platform: ServicePlatform,
        options: RolloutOptions,
        timeouts: Timeouts,
        log: RolloutLog,
        interrupt: Interrupt | None = None,
    ) -> None:
        self.platform = platform
        self.options = options
        self.log = log
        self.interrupt = interrupt or Interrupt()
        self.health_timeout = timeouts.health
        self.route_timeout = timeouts.route
        self.gates = Gates(platform, options.poll_interval, guard=self._guard)
        self.undo = Undo(platform, Gates(platform, options.poll_interval), log, self.route_timeout)
        self.watched: list[Replica] = []
        self.unlisted_since: dict[str, float] = {}
        self.membership = Membership()  # compose adds alone; retirements remove side by side
        self.retiring = Retirements(
            platform,
            log,
            poll=options.poll_interval,
            call_timeout=self.route_timeout,
            membership=self.membership,
        )
        self.open_batches: list[Batch] = []  # batches whose old replicas are still retiring
        self.peak_replicas = 0
        self.draining_cap = options.max_draining or 1

    # --- watching what must keep serving ---------------------------------------------------------

    def _guard(self) -> None:
        """Before every poll: stop on an interrupt, or on a new replica that no longer serves."""
        if self.interrupt.signum is not None:
            raise RolloutInterrupted(self.interrupt.signum)
        self._raise_retirement_errors()
        if self.watched:
            self.check_new_serving(tolerate_unavailable=True)

    def check_new_serving(self, *, tolerate_unavailable: bool = False) -> None:
        """ReplicaLost if a watched new replica stopped running or being healthy, or Traefik has not
        listed it for longer than the route timeout (a Traefik restart is shorter than that)."""
        try:
            routed = self.platform.routed_ips()
            if routed:  # servers listed but no working router: every request misses (404)
                self.gates.route_works()
            states = {r.id: self.platform.find(r.id) for r in self.watched}
        except PlatformUnavailable:
            if tolerate_unavailable:
                return
            raise
        now = time.monotonic()
        for replica in self.watched:
            state = states[replica.id]
            if state is None or not state.serving_state:
                what = "was removed" if state is None else f"is {state.status}, health {state.health}"
                raise ReplicaLost(f"new replica {replica.name} {what}")
            if routed.intersection(replica.ips):
                self.unlisted_since.pop(replica.id, None)
            elif now - self.unlisted_since.setdefault(replica.id, now) > self.route_timeout:
                raise ReplicaLost(
                    f"Traefik has not routed new replica {replica.name} for {self.route_timeout:.0f}s"
                )

    # --- one batch ----------------------------------------------------------------------------------

    def replace_batch(self, batch: Batch) -> None:
        """Start, gate and drain, then hand the old replicas to the background retirement."""
        self._guard()
        self._wait_for_room(len(batch.old))
        batch.new = self._create(batch)
        for replica in batch.new:
            with self.log.phase("start-to-healthy", f"new {replica.name}", replica.created):
                self.gates.healthy(replica, self.health_timeout)
        for replica in batch.new:
            with self.log.phase("healthy-to-routed", f"new {replica.name}"):
                self.gates.routed(replica, self.route_timeout)
        self.watched = [*self.watched, *batch.new]
        self.check_new_serving()  # once more, right before the old ones leave rotation
        began = self._drain(batch)
        for old in batch.old:
            with self.log.phase("drain-to-out", f"old {old.name}", began[old.id]):
                self.gates.unrouted(old, self.route_timeout)
        self.open_batches.append(batch)
        for old in batch.old:
            self.retiring.start(old, began[old.id], batch.new)

    def _wait_for_room(self, needed: int) -> None:
        """Wait until `needed` more old replicas may retire beside those retiring now."""

        def room() -> bool:
            return self.retiring.active() + needed <= self.draining_cap

        if room():
            return
        with self.log.phase("wait-for-room", f"{self.retiring.active()} retiring"):
            self.gates.until(
                room,
                f"room under --max-draining {self.draining_cap}",
                self.retiring.bound(),
                self.retiring.ended,
            )

    def _raise_retirement_errors(self) -> None:
        if self.retiring.errors:
            raise RolloutFailed(self.retiring.errors[0])

    def _create(self, batch: Batch) -> list[Replica]:
        target = self.options.target
        with self.log.phase("create", f"{len(batch.old)} x {target.version}"):
            # compose counts every container of the service, stopped ones too: none may be removed
            # while it runs, or it would start one replica too many (retirements wait their turn).
            with self.membership.composing():
                before = self.platform.replicas(include_stopped=True)
                known = {r.id for r in before}
                try:
                    self.platform.scale_up(target, len(before) + len(batch.old))
                finally:
                    # Even when compose failed half-way: what it created is the batch's, to undo.
                    now = self.undo.gates.call(  # unguarded: an interrupt must not lose them
                        partial(self.platform.replicas, include_stopped=True),
                        "listing the new replicas",
                        self.route_timeout,
                    )
                    batch.new = [r for r in now if r.id not in known]
            self.peak_replicas = max(self.peak_replicas, sum(1 for r in now if r.status == "running"))
            if len(batch.new) != len(batch.old):
                raise RolloutFailed(
                    f"expected {len(batch.old)} new replica(s), compose started {len(batch.new)}"
                )
        return batch.new

    def _drain(self, batch: Batch) -> dict[str, float]:
        began: dict[str, float] = {}
        for old in batch.old:
            began[old.id] = time.time()
            batch.drained.append(old)
            self.gates.call(partial(self.platform.drain, old.id), f"draining {old.name}", self.route_timeout)
        return began

    # --- the whole rollout --------------------------------------------------------------------------

    def run(self) -> RolloutResult:
        """Replace every replica. RolloutFailed or RolloutInterrupted after the current batch was
        undone; the batches before it stay replaced unless their new replicas stopped serving."""
        started = time.time()
        old = self.platform.replicas()
        if not old:
            raise RolloutInputError("the service has no running replicas to replace")
        problem = self.platform.route_problem()  # also what later looks compare the rule with
        if problem is not None:
            raise RolloutFailed(f"not starting: {problem}", undone=False)
        self.draining_cap = self.options.max_draining or len(old)
        replaced: list[tuple[str, str]] = []
        batches: list[tuple[list[str], list[str]]] = []
        for planned in plan_batches(old, self.options.max_surge):
            batch = Batch(planned)
            try:
                self.replace_batch(batch)
            except BaseException as error:
                self._fail(batch, error)
            replaced += [(o.name, n.name) for o, n in zip(batch.old, batch.new, strict=True)]
            batches.append(([o.name for o in batch.old], [n.name for n in batch.new]))
        try:
            self._finish_retirements()
        except BaseException as error:
            self._fail(Batch([]), error)
        final = self.platform.replicas()
        wrong = [r.name for r in final if r.version != self.options.target.version]
        if len(final) != len(old) or wrong:
            raise RolloutFailed(
                f"ended with {len(final)} replicas (wanted {len(old)}), not on target: {wrong}",
                undone=False,
            )
        self._answers_through_entrypoint()
        return RolloutResult(
            replaced,
            time.time() - started,
            list(self.log.records),
            [*self.retiring.cut, *self.undo.cut],
            len(old),
            self.gates.fewest_routed,
            self.peak_replicas,
            batches,
        )

    def _answers_through_entrypoint(self) -> None:
        """The last word: one real request through Traefik's entrypoint must reach the target."""
        status, version = self.undo.gates.call(
            self.platform.entrypoint_answer, "a request through Traefik's entrypoint", self.route_timeout
        )
        if status != 200 or version != self.options.target.version:
            raise RolloutFailed(
                f"a request through Traefik's entrypoint answered {status} from version "
                f"{version or 'unknown'}, not 200 from {self.options.target.version}",
                undone=False,
            )
        self.log.note(f"through Traefik's entrypoint: 200 from {version}")

    def _finish_retirements(self) -> None:
        """Wait, still watching the new replicas, until every old replica has stopped. An old
        replica held back because a successor did not serve at that moment retires after all once
        every successor serves again (a health flap); if one still does not, the rollout fails."""
        for _ in range(HELD_BACK_RETRIES + 1):
            if self.retiring.active():
                self.gates.until(
                    lambda: self.retiring.active() == 0,
                    "the old replicas to retire",
                    self.retiring.bound(),
                    self.retiring.ended,
                )
            self.retiring.finish()
            self.check_new_serving()  # a retirement holds its replica back if its successor died
            self._raise_retirement_errors()
            held = self.retiring.held_back()
            if not held:
                break
            for retirement in held:
                self.log.note(f"retiring old {retirement.replica.name} after all: its successors serve")
                self.retiring.retry(retirement)
        else:
            names = ", ".join(r.replica.name for r in self.retiring.held_back())
            raise RolloutFailed(f"old replica(s) {names} held back: a successor keeps failing to serve")
        self.open_batches = []
        self.watched = []

    def _fail(self, batch: Batch, error: BaseException) -> None:
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        self.log.note(f"stopping: {reason}; undoing this batch")
        self.watched = []
        problems: list[str] = []
        try:
            problems += self.undo.run(batch)
        except Exception as undo_error:  # the undo never raises; if it does, settle all the same
            problems.append(f"undoing this batch: {type(undo_error).__name__}: {undo_error}")
        finally:
            problems += self._settle_open_batches()
        for line in problems:
            self.log.note(f"left behind: {line}")
        if isinstance(error, RolloutInterrupted):
            raise RolloutInterrupted(error.signum, problems) from None
        if self.interrupt.signum is not None:  # a step the interrupt ended (a compose command)
            raise RolloutInterrupted(self.interrupt.signum, problems) from None
        if isinstance(error, RolloutFailed | WaitTimeout | ReplicaLost | RouteBroken | PlatformUnavailable):
            raise RolloutFailed(reason, problems) from error
        if isinstance(error, Exception):
            raise RolloutFailed(f"{type(error).__name__}: {reason}", problems) from error
        raise error

    def _settle_open_batches(self) -> list[str]:
        """Earlier batches whose old replicas still retire: where a new replica no longer serves or
        an old one failed to retire, reclaim the old ones that have not begun to stop and undo that
        batch too; the others finish retiring. What could not be done, as lines."""
        problems: list[str] = []
        for batch in reversed(self.open_batches):
            if all(still_serves(self.platform, r) for r in batch.new) and not self.retiring.failed(batch.old):
                continue
            batch.drained = self.retiring.reclaim(batch.old)
            names = ", ".join(r.name for r in batch.drained) or "none"
            self.log.note(
                "undoing an earlier batch too (a new replica stopped serving or an old one did not "
                f"retire); old ones back: {names}"
            )
            problems += self.undo.run(batch)
        self.retiring.finish()
        self.open_batches = []
        return problems + self.retiring.errors
