"""Bounded waits: poll a check with tenacity until it passes or an explicit deadline is hit."""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from zerodrop.errors import WaitTimeout, first_line

T = TypeVar("T")
MIN_CALL_SECONDS = 0.05  # the first call of a wait whose deadline is (nearly) 0 still gets this long


def wait_for(
    check: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.25,
    last_seen: Callable[[], str] | None = None,
    transient: tuple[type[BaseException], ...] = (),
    wake: threading.Event | None = None,
) -> T:
    """Call `check` every `interval` seconds until it returns something other than None/False,
    and return that; raise WaitTimeout after `timeout` seconds. With `wake`, setting that event
    runs the next check at once instead of at the end of the interval.

    An exception of a `transient` type counts as "not yet" (retried until the deadline, and named
    in the timeout message); any other exception from `check` gives up at once (a container that
    exited, say)."""
    if not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"a wait needs a finite, non-negative deadline, not {timeout}")
    last_error: list[str] = []
    deadline = time.monotonic() + timeout
    # Each check runs on the wait's own worker, a daemon thread, so that one call that hangs
    # cannot carry the wait past its deadline (the deadline bounds the whole wait, not only the
    # retries between calls), nor hold the process open after it has said what it did.
    worker = _Worker(threading.current_thread().name)

    def attempt() -> T | None:
        try:
            result = worker.run(check, max(deadline - time.monotonic(), MIN_CALL_SECONDS))
        except FutureTimeout:
            raise WaitTimeout(
                f"timed out after {timeout:.0f}s waiting for {what}: a call was still running at the deadline"
            ) from None
        except transient as error:
            last_error[:] = [f"{type(error).__name__}: {first_line(error, limit=160)}"]
            return None
        last_error.clear()
        return result

    try:
        result = _retrying(timeout, interval, wake)(attempt)
    except RetryError:
        raise WaitTimeout(
            f"timed out after {timeout:.0f}s waiting for {what}{_seen(last_seen, last_error)}"
        ) from None
    finally:
        worker.close()
    assert result is not None
    return result


Job = tuple[Callable[[], object], list[tuple[bool, object]], threading.Event]  # call, outcome, done


class _Worker:
    """One daemon thread that runs a wait's calls one after another (started at the first)."""

    def __init__(self, name: str) -> None:
        self.name = f"{name}-wait"
        self.calls: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def _serve(self) -> None:
        while (job := self.calls.get()) is not None:
            call, outcome, done = job
            try:
                outcome.append((True, call()))
            except BaseException as error:  # handed to the waiting thread, which raises it
                outcome.append((False, error))
            finally:
                done.set()

    def run(self, call: Callable[[], T], seconds: float) -> T:
        """`call()` on the worker, its result or its exception; FutureTimeout if it has not
        returned within `seconds` (it is left to end on its own: every call has a timeout)."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self.thread.start()
        outcome: list[tuple[bool, object]] = []
        done = threading.Event()
        self.calls.put((call, outcome, done))
        if not done.wait(seconds):
            raise FutureTimeout()
        ok, value = outcome[0]
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def close(self) -> None:
        """Let the thread end once the call it runs (if any) has returned."""
        if self.thread is not None:
            self.calls.put(None)


def _retrying(timeout: float, interval: float, wake: threading.Event | None) -> Retrying:
    """Retry a falsy result every `interval` (or as soon as `wake` is set) for `timeout` seconds."""
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda result: result is None or result is False),
    )
    return retrying if wake is None else retrying.copy(sleep=partial(_pause_unless_woken, wake))


def _pause_unless_woken(wake: threading.Event, seconds: float) -> None:
    wake.wait(seconds)
    wake.clear()  # before the check that follows, so a set that comes later is never lost


def _seen(last_seen: Callable[[], str] | None, last_error: list[str]) -> str:
    if last_error:
        return f"; last attempt failed: {last_error[0]}"
    if last_seen is None:
        return ""
    try:
        return f"; last seen: {last_seen()}"
    except Exception as error:  # the description is best effort: never hide the timeout itself
        return f"; last seen: unknown ({type(error).__name__})"
