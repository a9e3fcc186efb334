"""Requests that each open a connection of their own, beside the probe (whose requests reuse
kept-alive connections): the traffic that meets a listener the moment it starts accepting, as
browsers and clients without a pool bring it. Bounded in time and count; to 127.0.0.1 only."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MAX_SECONDS = 300.0  # a loop never runs longer, whatever the block does
MAX_REQUESTS = 200_000
PAUSE = 0.005  # between one answer and the next request, per lane


@dataclass
class FreshTally:
    """What the fresh-connection requests got: statuses and errors by name."""

    results: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        """How many were sent."""
        return sum(self.results.values())

    @property
    def failed(self) -> int:
        """Those that did not get a 200."""
        return self.requests - self.results["200"]

    def line(self) -> str:
        """'fresh connections: 5,956 requests, 0 failed (200 5956)'."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.results.items()))
        return f"fresh connections: {self.requests:,} requests, {self.failed} failed ({kinds})"


def _one(port: int, host: str, path: str) -> str:
    """One GET on a connection of its own: its status, or the error's name."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host, "Connection": "close"})
        response = connection.getresponse()
        response.read()
        return str(response.status)
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__
    finally:
        connection.close()


@contextmanager
def fresh_connections(port: int, host: str, *, lanes: int = 2, path: str = "/health") -> Iterator[FreshTally]:
    """GETs through Traefik's port on 127.0.0.1, each on a new connection, `lanes` at a time, for
    as long as the block runs (at most MAX_SECONDS and MAX_REQUESTS)."""
    tally, stop = FreshTally(), threading.Event()
    deadline = time.monotonic() + MAX_SECONDS

    def lane() -> None:
        while not stop.is_set() and time.monotonic() < deadline and tally.requests < MAX_REQUESTS:
            result = _one(port, host, path)
            with tally.lock:
                tally.results[result] += 1
            stop.wait(PAUSE)

    threads = [threading.Thread(target=lane, daemon=True) for _ in range(lanes)]
    for thread in threads:
        thread.start()
    try:
        yield tally
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
