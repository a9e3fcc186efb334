"""SIGINT, SIGTERM, SIGHUP (a closed terminal, a dropped SSH session) and SIGQUIT during a
rollout: a request to undo the current step and stop, never a kill half-way."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from zerodrop.cli.stopped_report import say
from zerodrop.rollout.result import Interrupt

INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@contextmanager
def signals_to(interrupt: Interrupt) -> Iterator[None]:
    """While the block runs, each of INTERRUPTS asks the rollout to undo its step and stop,
    instead of killing it half-way; a second signal only says that it is still restoring."""

    def handler(signum: int, _: object) -> None:
        if interrupt.request(signum):
            say(f"rollout: {signal.Signals(signum).name}: undoing the current step, then stopping")
        else:
            say("rollout: still restoring a consistent state; SIGKILL would leave it half-done")

    previous = {sig: signal.signal(sig, handler) for sig in INTERRUPTS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
