"""Bounded waits: poll a check with tenacity until it passes or an explicit deadline is hit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """A wait ran out of time; the message says what was awaited and what was last seen."""


def wait_for(
    check: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.25,
    last_seen: Callable[[], str] | None = None,
) -> T:
    """Call `check` every `interval` seconds until it returns something other than None/False,
    and return that; raise WaitTimeout after `timeout` seconds. Exceptions from `check` are not
    retried: a check raises to give up early (a container that exited, say)."""
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda result: result is None or result is False),
    )
    try:
        result = retrying(check)
    except RetryError:
        seen = f"; last seen: {last_seen()}" if last_seen else ""
        raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{seen}") from None
    assert result is not None
    return result
