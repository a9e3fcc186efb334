"""The one undo every failed, interrupted or broken batch goes through: drained old replicas back
in rotation first (confirmed in Traefik's API), then the new replicas that are not needed taken
away, gracefully if they serve. It never raises; it says what it could not do and why."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from lab.gates import Gates
from lab.model import Replica, ServicePlatform
from lab.phaselog import RolloutLog
from lab.retire import CutWork, retire
from lab.rollout_plan import Batch


@dataclass
class Undo:
    """Undoes batches on a platform. Its gates have no guard: an undo runs to its end."""

    platform: ServicePlatform
    gates: Gates
    log: RolloutLog
    call_timeout: float
    cut: list[CutWork] = field(default_factory=list)

    def run(self, batch: Batch) -> list[str]:
        """Put the batch's drained old replicas back in rotation first, then take away the new
        replicas that are not needed to stand in for old ones that are gone. Never raises: what it
        cannot do is returned as lines saying what was left behind and why."""
        problems: list[str] = []

        def attempt(what: str, action: Callable[[], object]) -> bool:
            try:
                action()
            except Exception as error:
                problems.append(f"{what}: {(str(error).splitlines() or [type(error).__name__])[0][:200]}")
                return False
            return True

        back: list[Replica] = []
        for old in batch.old:
            state = self._find(old)
            if state is None or state.status != "running":
                if state is not None:
                    attempt(f"removing stopped old {old.name}", partial(self.platform.remove, old.id))
                continue
            undrain = partial(
                self.gates.call,
                partial(self.platform.undrain, old.id),
                f"undraining {old.name}",
                self.call_timeout,
            )
            if old in batch.drained and not attempt(f"undraining old {old.name}", undrain):
                continue
            back.append(old)
        for old in back:
            with self.log.phase("back-in", f"old {old.name}"):
                attempt(
                    f"old {old.name} back in rotation",
                    partial(self.gates.routed, old, self.call_timeout),
                )
        needed = len(batch.old) - len(back)
        for replica in batch.new:
            state = self._find(replica)
            serving = state is not None and state.serving_state
            if serving and needed > 0:
                needed -= 1
                self.log.note(f"keeping new {replica.name}: it stands in for an old replica that is gone")
                continue
            if state is None or state.status != "running" or state.health == "unhealthy":
                self.log.note(f"diagnostics of {replica.name}:")
                for line in self._diagnostics(replica):
                    self.log.note(f"  {line}")
            attempt(f"taking new {replica.name} away", partial(self._take_away, replica, serving))
        if needed > 0:
            problems.append(f"{needed} replica(s) fewer than before the batch: run `python -m lab recover`")
        return problems

    def _take_away(self, replica: Replica, serving: bool) -> None:
        if serving and self.gates.is_routed(replica):
            began = time.time()
            self.gates.call(
                lambda: self.platform.drain(replica.id),
                f"draining {replica.name}",
                self.call_timeout,
            )
            with self.log.phase("drain-to-out", f"new {replica.name}", began):
                self.gates.unrouted(replica, self.call_timeout)
            label = f"new {replica.name}"
            done = retire(
                self.platform,
                self.gates,
                self.log,
                replica,
                label=label,
                drain_began=began,
                call_timeout=self.call_timeout,
            )
            self.cut += [done] if done else []
        else:
            with self.log.phase("remove", f"new {replica.name}"):
                self.gates.call(
                    lambda: self.platform.remove(replica.id),
                    f"removing {replica.name}",
                    self.call_timeout,
                )

    def _find(self, replica: Replica) -> Replica | None:
        return self.gates.call(
            lambda: self.platform.find(replica.id), f"inspecting {replica.name}", self.call_timeout
        )

    def _diagnostics(self, replica: Replica) -> list[str]:
        try:
            return self.platform.diagnostics(replica.id)
        except Exception as error:
            return [f"(no diagnostics: {error})"]
