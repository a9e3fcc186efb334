"""Zero-downtime rolling replacement of a service's replicas, gated on Traefik's own view.

Per batch (one replica by default): start the new replicas beside the old ones; wait until Docker
calls them healthy and Traefik lists them; check once more that they serve; drain the old ones
(they fail readiness but serve on). They retire in the background (until Traefik drops them,
then until idle, stop with the full grace period, remove) while the next batch starts and drains
in turn: the overlap. A drained replica serves what Traefik still sends it, and a batch drains
only once its own new replicas are routed, so the ready, routed count never falls; batches are
handed over (old replicas out of rotation) in any order. At most `max_draining` old replicas
retire at once; the next batch waits for room. Without overlap, each batch waits until Traefik
has dropped its old replicas before the next begins.

At most N + max_surge + max_draining containers of the service exist at once (N: its replicas).

Every new replica is watched until the rollout ends. If one stops serving, the rollout stops: it
undoes its current batch and any earlier one whose new replicas no longer all serve.

The invariant: Traefik never routes fewer ready replicas than when the rollout began. Any failure,
exception or interrupt runs the same undo, which restores it, and the rollout then says what
serves now, as Docker and Traefik report it.
"""

from __future__ import annotations

import time
from functools import partial

from zerodrop.errors import (
    PlatformUnavailable,
    ReplicaLost,
    RolloutFailed,
    RolloutInputError,
    RolloutInterrupted,
    RouteBroken,
    WaitTimeout,
    first_line,
)
from zerodrop.model import Replica
from zerodrop.rollout.batch_gates import wait_for_room
from zerodrop.rollout.create import create_batch
from zerodrop.rollout.deadlines import Timeouts
from zerodrop.rollout.final_check import answers_through_entrypoint
from zerodrop.rollout.membership import Membership
from zerodrop.rollout.new_replicas import NewReplicas
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import Batch, RolloutOptions, plan_batches
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.result import Interrupt, RolloutResult
from zerodrop.rollout.retirement_pool import Retirements
from zerodrop.rollout.tool_cost import ToolCost, Usage
from zerodrop.rollout.undo import Undo, settle_open_batches

HELD_BACK_RETRIES = 3  # an old replica held back by a successor's health flap is retried this often


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
        self.gates = ReplicaWaits(platform, options.poll_interval, guard=self._guard, progress=log.note)
        self.undo = Undo(
            platform,
            ReplicaWaits(platform, options.poll_interval),
            log,
            self.route_timeout,
            recover_command=options.recover_command,
        )
        self.watched = NewReplicas(platform, self.gates, self.route_timeout)
        self.membership = Membership()  # compose adds alone; retirements remove side by side
        self.retiring = Retirements(
            platform,
            log,
            poll=options.poll_interval,
            call_timeout=self.route_timeout,
            membership=self.membership,
            stopping=lambda: self.interrupt.signum is not None,
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
        if self.watched.replicas:
            self.watched.check(tolerate_unavailable=True)

    # --- one batch ----------------------------------------------------------------------------------

    def replace_batch(self, batch: Batch) -> None:
        """Start, gate and drain, then hand the old replicas to the background retirement."""
        self._guard()
        wait_for_room(self.gates, self.retiring, self.log, len(batch.old), self.draining_cap)
        batch.new = self._create(batch)
        for replica in batch.new:
            with self.log.phase("start-to-healthy", f"new {replica.name}", replica.created):
                self.gates.healthy(replica, self.health_timeout)
        for replica in batch.new:
            with self.log.phase("healthy-to-routed", f"new {replica.name}"):
                self.gates.routed(replica, self.route_timeout)
            batch.routed.append(replica)
        self.watched.replicas += batch.new
        self.watched.check()  # once more, right before the old ones leave rotation
        began = self._drain(batch)
        if not self.options.overlap:
            for old in batch.old:
                with self.log.phase("drain-to-out", f"old {old.name}", began[old.id]):
                    self.gates.unrouted(old, self.route_timeout)
        self.open_batches.append(batch)
        for old in batch.old:
            self.retiring.start(old, began[old.id], batch.new, confirm_out=self.options.overlap)

    def _raise_retirement_errors(self) -> None:
        if self.retiring.errors:
            raise RolloutFailed(self.retiring.errors[0])

    def _create(self, batch: Batch) -> list[Replica]:
        batch.new, running = create_batch(
            self.platform,
            self.options.target,
            batch,
            log=self.log,
            membership=self.membership,
            unguarded=self.undo.gates,
            call_timeout=self.route_timeout,
        )
        self.peak_replicas = max(self.peak_replicas, running)
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
        started, usage = time.time(), Usage.now()
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
        return self._result(len(old), replaced, batches, started, usage)

    def _result(
        self,
        count: int,
        replaced: list[tuple[str, str]],
        batches: list[tuple[list[str], list[str]]],
        started: float,
        usage: Usage,
    ) -> RolloutResult:
        """The result of a rollout whose batches all went through: `count` replicas on the target,
        then the last request through Traefik's entrypoint."""
        final = self.platform.replicas()
        wrong = [r.name for r in final if r.version != self.options.target.version]
        if len(final) != count or wrong:
            raise RolloutFailed(
                f"ended with {len(final)} replicas (wanted {count}), not on target: {wrong}",
                undone=False,
            )
        unverified = answers_through_entrypoint(
            self.platform, self.undo.gates, self.log, self.options.target.version, self.route_timeout
        )
        return RolloutResult(
            replaced,
            time.time() - started,
            list(self.log.records),
            [*self.retiring.cut, *self.undo.cut],
            count,
            self.gates.fewest_routed,
            self.peak_replicas,
            batches,
            unverified,
            overlap=self.options.overlap,
            cost=ToolCost.since(usage),
        )

    def _finish_retirements(self) -> None:
        """Wait, still watching the new replicas, until every old replica has stopped."""
        self.retiring.wait_all(self.gates, self.watched.check, HELD_BACK_RETRIES)
        self._guard()  # an interrupt that reclaimed a replica still leaving rotation ends here
        self.open_batches = []
        self.watched.replicas = []

    def _fail(self, batch: Batch, error: BaseException) -> None:
        reason = first_line(error, limit=1000)
        self.retiring.hold_under_way()  # what is not handed over yet is undone, not finished
        self.log.note(f"stopping: {reason}; undoing this batch")
        self.watched.replicas = []
        problems: list[str] = []
        try:
            problems += self.undo.run(batch)
        except Exception as undo_error:  # the undo never raises; if it does, settle all the same
            problems.append(f"undoing this batch: {type(undo_error).__name__}: {undo_error}")
        finally:
            problems += settle_open_batches(
                self.platform, self.open_batches, self.retiring, self.undo, self.log
            )
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
