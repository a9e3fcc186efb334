"""uvicorn with a lame-duck shutdown and a drain trigger.

Signals (main thread only, as for any Python signal handler):
  SIGTERM, SIGINT  lame duck: fail readiness at once but keep accepting and serving until the
                   replica has been draining for DRAIN_SECONDS; then stop accepting, let in-flight
                   requests finish (bounded by GRACEFUL_TIMEOUT), run the shutdown work, exit 0.
                   A second SIGTERM/SIGINT skips what is left of the drain window; a third forces.
  SIGUSR1          drain without stopping: readiness fails, serving goes on (Traefik takes the
                   replica out when Docker marks it unhealthy). A later SIGTERM counts the drain
                   window from this moment, so a replica drained long enough stops at once.
  SIGUSR2          undrain: readiness passes again (used when a rollout is rolled back).
  SIGHUP           end streams: every SSE and WebSocket stream says goodbye so its client
                   reconnects elsewhere (a rollout sends it once Traefik has dropped the replica).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Generator
from types import FrameType

import uvicorn

from .state import Phase, ReplicaState

log = logging.getLogger("zerodrop.server")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class LameDuckServer(uvicorn.Server):
    """A uvicorn server whose stop signal first drains, then shuts down gracefully."""

    def __init__(self, config: uvicorn.Config, state: ReplicaState, drain_seconds: float) -> None:
        super().__init__(config)
        self.state = state
        self.drain_seconds = drain_seconds
        self.stop_signals = 0

    @property
    def stop_requested(self) -> bool:
        """Whether a stop signal has arrived."""
        return self.stop_signals > 0

    def request_stop(self) -> None:
        """What a stop signal does, counted: the first enters the lame-duck window, the second cuts
        what is left of it short (the shutdown work still runs), the third forces an exit.
        Counted, not inferred from whether the window is over: with DRAIN_SECONDS=0 the window
        ends at once, and a second signal must still not skip the shutdown work."""
        self.stop_signals += 1
        if self.stop_signals == 1:
            self.state.start_draining()
            log.info("stop requested: draining, serving on for up to %.1fs", self.drain_seconds)
        elif self.stop_signals == 2:
            self.should_exit = True
            log.info("second stop signal: leaving the drain window now; shutdown work still runs")
        else:
            self.should_exit = self.force_exit = True
            log.info("third stop signal: forcing the exit, shutdown work skipped")

    def request_drain(self) -> None:
        """What SIGUSR1 does: fail readiness, keep serving."""
        self.state.start_draining()
        log.info("drain requested: readiness now fails, still serving")

    def request_undrain(self) -> None:
        """What SIGUSR2 does: pass readiness again, unless a stop is under way."""
        if not self.stop_requested:
            self.state.stop_draining()
            log.info("undrain requested: back in rotation")

    def request_end_streams(self) -> None:
        """What SIGHUP does: every open stream says goodbye; while draining, every new one too (a
        serving replica keeps its new streams: a proxy hand-over asks its clients to reconnect)."""
        self.state.streams_round += 1
        if self.state.phase is Phase.DRAINING:
            self.state.end_streams = True
        log.info("end of streams requested: %d open stream(s) say goodbye", self.state.streams_open)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Signal handler (replaces uvicorn's, which exits at once and re-raises the signal)."""
        if sig == signal.SIGHUP:
            self.request_end_streams()
        elif sig == signal.SIGUSR1:
            self.request_drain()
        elif sig == signal.SIGUSR2:
            self.request_undrain()
        else:
            self.request_stop()

    async def on_tick(self, counter: int) -> bool:
        """Leave the main loop once the drain window of a requested stop is over."""
        if self.stop_requested and self.state.drained_for() >= self.drain_seconds:
            self.should_exit = True
        return await super().on_tick(counter)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Install our handlers for the run; unlike uvicorn, never re-raise the stop signal
        afterwards, so a graceful stop exits 0."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (*STOP_SIGNALS, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
