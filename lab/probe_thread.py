"""The probe in a thread of its own, for an action measured while it runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from zerodrop.measure.probe import Probe
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import (
    LONG,
)


class ProbeThread:
    """A probe on its own event loop in a background thread (for tests and the demo)."""

    def __init__(self, options: ProbeOptions, out: Callable[[str], None] = print) -> None:
        self.probe = Probe(options, out)
        self.result: ProbeResult | None = None
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def _run(self) -> None:
        self.result = asyncio.run(self.probe.run())

    def start(self) -> ProbeThread:
        """Start sending."""
        self._thread.start()
        return self

    def in_flight(self, kind: str = LONG) -> int:
        """Requests of a kind sent and not yet answered."""
        return sum(1 for r in list(self.probe.records) if r.kind == kind and r.end == 0.0)

    def finish(self, timeout: float = 120.0) -> ProbeResult:
        """Stop sending now, wait for in-flight requests, and return the result."""
        self.probe.stop()
        return self.wait(timeout)

    def wait(self, timeout: float) -> ProbeResult:
        """Wait until the probe ends by itself (its duration) and return the result."""
        self._thread.join(timeout)
        if self._thread.is_alive() or self.result is None:
            raise TimeoutError(f"probe did not finish within {timeout:.0f}s")
        return self.result
