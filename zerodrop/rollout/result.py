"""What a rollout hands back: its result when it finished, and the interrupt a signal handler sets."""

from __future__ import annotations

from dataclasses import dataclass, field

from zerodrop.errors import EXIT_CUT, EXIT_OK, EXIT_UNVERIFIED
from zerodrop.model import PhaseRecord
from zerodrop.rollout.retirement import CutWork
from zerodrop.rollout.tool_cost import ToolCost


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
    # Every replica replaced and routed, but the last request through the entrypoint did not
    # answer as expected: what it got (None when it did).
    unverified: str | None = None
    overlap: bool = False  # the schedule: the next batch started before the old replicas were out
    cost: ToolCost | None = None  # what the rollout itself used of the machine

    @property
    def exit_code(self) -> int:
        """4 done but unverified, 3 done with cut work, 0 done."""
        return EXIT_UNVERIFIED if self.unverified else EXIT_CUT if self.cut else EXIT_OK
