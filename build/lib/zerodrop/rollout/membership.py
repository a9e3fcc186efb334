"""Who may change the service's set of containers when: compose adding replicas excludes every
retirement's removal, while retirements remove side by side.

compose counts the service's containers to decide how many to create, so none may vanish while it
runs. Retirements do not disturb one another, so they share; compose takes its turn as soon as the
removals under way end, and none begins while it waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

TURN_BOUND = 600.0  # no turn waits longer: every stop it waits for is bounded by its own grace


class Membership:
    """A shared/exclusive lock: retirements share `stopping()` (their removals), compose holds
    `composing()` alone (and is let in before any removal that starts after it asked)."""

    def __init__(self, bound: float = TURN_BOUND) -> None:
        self._turns = threading.Condition()
        self._stopping = 0
        self._composing = False
        self._compose_waiting = 0
        self.bound = bound

    def _wait(self, ready: Callable[[], bool]) -> None:
        if not self._turns.wait_for(ready, timeout=self.bound):
            raise TimeoutError(f"no turn to change the service's containers within {self.bound:.0f}s")

    @contextmanager
    def stopping(self) -> Iterator[None]:
        """A retirement's removal (several at once)."""
        with self._turns:
            self._wait(lambda: not self._composing and not self._compose_waiting)
            self._stopping += 1
        try:
            yield
        finally:
            with self._turns:
                self._stopping -= 1
                self._turns.notify_all()

    @contextmanager
    def composing(self) -> Iterator[None]:
        """compose adding replicas (alone)."""
        with self._turns:
            self._compose_waiting += 1
            try:
                self._wait(lambda: not self._stopping and not self._composing)
            finally:
                self._compose_waiting -= 1
            self._composing = True
        try:
            yield
        finally:
            with self._turns:
                self._composing = False
                self._turns.notify_all()
