"""One request as the probe and the workshop record it: when, what came back, from which version
and replica, and how it failed, from a response or an exception in one place."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import httpx

LONG, SHORT, WRITE = "long", "short", "write"


@dataclass
class RequestRecord:
    """One request: when, what came back, and from which version and replica."""

    kind: str
    start: float
    end: float = 0.0
    status: int | None = None
    version: str | None = None
    replica: str | None = None
    error: str | None = None
    event_id: str | None = None

    @property
    def ok(self) -> bool:
        """Answered as it should be (2xx with the expected body)."""
        return self.error is None

    @property
    def seconds(self) -> float:
        """Latency."""
        return self.end - self.start


def classify(error: Exception) -> str | None:
    """A failure kind for a transport error of aiohttp (the probe) or httpx (the workshop's
    keep-alive client): refused, reset, timeout or transport; None for anything else."""
    if isinstance(error, httpx.TimeoutException | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(error, httpx.ConnectError | aiohttp.ClientConnectorError):
        return "refused"
    reset = (
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        aiohttp.ServerDisconnectedError,
        aiohttp.ClientOSError,
        aiohttp.ClientPayloadError,
    )
    if isinstance(error, reset):
        return "reset"
    if isinstance(error, httpx.HTTPError | aiohttp.ClientError):
        return "transport"
    return None


def take_status(record: RequestRecord, status: int, headers: Mapping[str, str]) -> bool:
    """Fill a record from an answer's status and headers (version, replica; error `http-<status>`
    for 3xx and up); whether the status was a success, so the caller goes on to check the body."""
    record.status = status
    record.version = headers.get("x-app-version")
    record.replica = headers.get("x-app-replica")
    if status >= 300:
        record.error = f"http-{status}"
        return False
    return True


def take_response(record: RequestRecord, response: httpx.Response) -> bool:
    """take_status for an httpx response."""
    return take_status(record, response.status_code, response.headers)


def take_exception(record: RequestRecord, error: Exception) -> None:
    """Record how a request failed: the transport kind for HTTP client errors,
    `unexpected-<type>` for anything else (never a silent success)."""
    record.error = classify(error) or f"unexpected-{type(error).__name__}"


def tally_line(records: list[RequestRecord]) -> str:
    """'ok 35, failed 8, in flight 4 | ok/failed: long 2/0, short 30/8, write 3/0 | v1 30, v2 5'."""
    snapshot = list(records)
    done = [r for r in snapshot if r.end]
    ok = sum(1 for r in done if r.ok)
    parts = []
    for kind in (LONG, SHORT, WRITE):
        of_kind = [r for r in done if r.kind == kind]
        good = sum(1 for r in of_kind if r.ok)
        parts.append(f"{kind} {good}/{len(of_kind) - good}")
    versions = Counter(r.version for r in done if r.ok and r.version)
    by_version = ", ".join(f"{v} {n}" for v, n in sorted(versions.items())) or "-"
    return (
        f"ok {ok}, failed {len(done) - ok}, in flight {len(snapshot) - len(done)} "
        f"| ok/failed: {', '.join(parts)} | {by_version}"
    )
