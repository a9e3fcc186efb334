"""SIGINT and SIGTERM during a rollout: a request to undo the current step and stop, never a kill
half-way."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from zerodrop.rollout.result import Interrupt


@contextmanager
def signals_to(interrupt: Interrupt) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM ask the rollout to undo its step and stop, instead
    of killing it half-way; a second signal only says that it is still restoring."""

    def handler(signum: int, _: object) -> None:
        if interrupt.request(signum):
            print(
                f"rollout: {signal.Signals(signum).name}: undoing the current step, then stopping", flush=True
            )
        else:
            print("rollout: still restoring a consistent state; SIGKILL would leave it half-done", flush=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
