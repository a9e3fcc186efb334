"""Undo: within a rollout that is still running, taking back its own failed batch (mend and
recover deal with what a rollout that is gone left behind).

The one undo every failed, interrupted or broken batch goes through: drained old replicas back
in rotation first (confirmed in Traefik's API), then the new replicas that are not needed taken
away, gracefully if they serve. It never raises; it says what it could not do and why."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from zerodrop.errors import first_line
from zerodrop.model import Replica
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import Batch
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.retirement import CutWork, retire, still_serves
from zerodrop.rollout.retirement_pool import Retirements


@dataclass
class Attempts:
    """Runs undo steps that may fail, keeping one line per failure instead of raising."""

    problems: list[str] = field(default_factory=list)

    def __call__(self, what: str, action: Callable[[], object]) -> bool:
        """Run `action`; whether it succeeded (a failure is kept as a line naming `what`)."""
        try:
            action()
        except Exception as error:
            first = first_line(error)
            self.problems.append(f"{what}: {first}")
            return False
        return True


@dataclass
class Undo:
    """Undoes batches on a platform. Its gates have no guard: an undo runs to its end."""

    platform: ServicePlatform
    gates: ReplicaWaits
    log: RolloutLog
    call_timeout: float
    cut: list[CutWork] = field(default_factory=list)
    recover_command: str = "python -m lab recover"  # named to the user when an undo falls short

    def run(self, batch: Batch) -> list[str]:
        """Put the batch's drained old replicas back in rotation first, then take away the new
        replicas that are not needed to stand in for old ones that are not back. Never raises:
        what it cannot do is returned as lines saying what was left behind and why."""
        attempts = Attempts()
        lame = [] if self.platform.reclaimable else [r for r in batch.old if r in batch.drained]
        for old in lame:
            self.log.note(
                f"old {old.name} cannot be put back (its drain cannot be taken back: a SIGTERM, "
                "or a drain file its image has no rm to remove): a new one stands in"
            )
        batch.drained = [r for r in batch.drained if r not in lame]
        back = self._return_old(batch, attempts, skip=lame)
        # Only a confirmed return frees a new replica: one that is not back is stood in for.
        needed = len(batch.old) - len(back)
        for replica in batch.new:
            known, state = self._attempt_find(replica, attempts)
            # Unknown (Docker did not answer) may be serving: never taken away for nothing.
            serving = (state is not None and state.serving_state) or not known
            if serving and needed > 0:
                needed -= 1
                self.log.note(f"keeping new {replica.name}: it stands in for an old replica that is not back")
                continue
            if state is not None and (state.status != "running" or state.health == "unhealthy"):
                self.log.note(f"diagnostics of {replica.name}:")
                for line in self._diagnostics(replica):
                    self.log.note(f"  {line}")
            # Routed once, it may hold acknowledged work even if its health fails now (an engine
            # too busy to run its check): while it runs, it stops with its grace, never killed.
            served = replica in batch.routed and state is not None and state.status == "running"
            attempts(f"taking new {replica.name} away", partial(self.take_away, replica, serving, served))
        for old in lame:
            attempts(f"retiring old {old.name}", partial(self._retire_lame, old))
        if needed > 0:
            attempts.problems.append(
                f"{needed} replica(s) fewer than before the batch: run `{self.recover_command}`"
            )
        return attempts.problems

    def _return_old(self, batch: Batch, attempts: Attempts, skip: list[Replica]) -> list[Replica]:
        """The batch's old replicas that serve as before: never drained, or undrained and
        confirmed back (the app ready, Traefik's API listing it). Stopped ones are removed;
        those in `skip` are left alone."""
        back: list[Replica] = []
        returning: list[Replica] = []
        for old in [r for r in batch.old if r not in skip]:
            known, state = self._attempt_find(old, attempts)
            if known and (state is None or state.status != "running"):
                if state is not None:
                    attempts(f"removing stopped old {old.name}", partial(self.platform.remove, old.id))
                continue
            # Unknown (Docker did not answer) is treated as running: try to put it back all the same.
            undrain = partial(
                self.gates.call,
                partial(self.platform.undrain, old.id),
                f"undraining {old.name}",
                self.call_timeout,
            )
            if old not in batch.drained:
                back.append(old)  # never left rotation: nothing to confirm
            elif attempts(f"undraining old {old.name}", undrain):
                returning.append(old)
        for old in returning:
            with self.log.phase("back-in", f"old {old.name}") as record:
                confirm = partial(self.gates.back_in, old, self.call_timeout)
                if attempts(f"old {old.name} back in rotation", confirm):
                    back.append(old)
                else:
                    record.ok = False
        return back

    def _retire_lame(self, old: Replica) -> None:
        """Retire an old replica drained by SIGTERM: it cannot come back, so it finishes."""
        self._out_then_retire(old, "old", time.time())

    def _out_then_retire(self, replica: Replica, role: str, began: float) -> None:
        """Wait until Traefik no longer lists a drained replica, then retire it; its cut work kept."""
        label = f"{role} {replica.name}"
        with self.log.phase("drain-to-out", label, began):
            self.gates.unrouted(replica, self.call_timeout)
        done = retire(self.platform, self.gates, self.log, replica, label=label, drain_began=began,
                      call_timeout=self.call_timeout)  # fmt: skip
        self.cut += [done] if done else []

    def take_away(self, replica: Replica, serving: bool = True, served: bool = False) -> None:
        """A new replica that is not needed: drained, confirmed out of Traefik's list and retired
        with its grace if it may be serving, or `served` (it was routed and still runs); else
        removed."""
        if served or (serving and self.gates.is_routed(replica)):
            began = time.time()
            self.gates.call(
                lambda: self.platform.drain(replica.id),
                f"draining {replica.name}",
                self.call_timeout,
            )
            self._out_then_retire(replica, "new", began)
        else:
            with self.log.phase("remove", f"new {replica.name}"):
                self.gates.call(
                    lambda: self.platform.remove(replica.id),
                    f"removing {replica.name}",
                    self.call_timeout,
                )

    def _attempt_find(self, replica: Replica, attempt: Attempts) -> tuple[bool, Replica | None]:
        """Whether Docker answered, and the replica's state (None: gone or unknown); a failure is
        kept by `attempt`."""
        found: list[Replica | None] = [None]

        def look() -> None:
            found[0] = self.gates.call(
                lambda: self.platform.find(replica.id), f"inspecting {replica.name}", self.call_timeout
            )

        return attempt(f"inspecting {replica.name}", look), found[0]

    def _diagnostics(self, replica: Replica) -> list[str]:
        try:
            return self.platform.diagnostics(replica.id)
        except Exception as error:
            return [f"(no diagnostics: {error})"]


def settle_open_batches(
    platform: ServicePlatform, open_batches: list[Batch], retiring: Retirements, undo: Undo, log: RolloutLog
) -> list[str]:
    """Earlier batches whose old replicas still retire: where one was not handed over yet (an old
    replica still in Traefik's rotation), a new replica no longer serves or an old one failed to
    retire, reclaim the old ones that have not begun to stop and undo that batch too; the others
    finish retiring. What could not be done, as lines."""
    problems: list[str] = []
    for batch in reversed(open_batches):
        handed_over = retiring.handed_over(batch.old)
        if (
            handed_over
            and all(still_serves(platform, r) for r in batch.new)
            and not retiring.failed(batch.old)
        ):
            continue
        batch.drained = retiring.reclaim(batch.old)
        names = ", ".join(r.name for r in batch.drained) or "none"
        why = (
            "a new replica stopped serving or an old one did not retire"
            if handed_over
            else "its old replicas had not left Traefik's rotation yet"
        )
        log.note(f"undoing an earlier batch too ({why}); old ones back: {names}")
        problems += undo.run(batch)
    retiring.finish()
    return problems + retiring.errors
