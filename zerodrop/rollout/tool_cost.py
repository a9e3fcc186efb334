"""What a rollout itself costs the machine it runs on: CPU seconds, its own and those of the
commands it ran (docker compose), and the peak memory of its process."""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    """CPU seconds used so far by this process (every thread) and by its finished children."""

    own: float
    children: float

    @staticmethod
    def now() -> Usage:
        """This process's CPU use up to now."""
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return Usage(me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime)


@dataclass(frozen=True)
class ToolCost:
    """CPU seconds between two moments, and the process's peak resident memory in MiB."""

    cpu_own: float
    cpu_children: float
    peak_mib: float

    @staticmethod
    def since(start: Usage) -> ToolCost:
        """What was used from `start` until now."""
        end = Usage.now()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        per_mib = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return ToolCost(end.own - start.own, end.children - start.children, peak / per_mib)

    def line(self) -> str:
        """'2.1s CPU (zerodrop 1.4s, the commands it ran 0.7s), peak memory 58 MiB'."""
        total = self.cpu_own + self.cpu_children
        return (
            f"{total:.1f}s CPU (zerodrop {self.cpu_own:.1f}s, the commands it ran {self.cpu_children:.1f}s), "
            f"peak memory {self.peak_mib:.0f} MiB"
        )
