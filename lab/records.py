"""One request as the probe and the workshop record it: when, what came back, from which version
and replica, and how it failed, from a response or an exception in one place."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

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


def classify(error: httpx.HTTPError) -> str:
    """A failure kind for a transport error: refused, reset, timeout or transport."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        return "refused"
    if isinstance(error, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return "reset"
    return "transport"


def take_response(record: RequestRecord, response: httpx.Response) -> bool:
    """Fill a record from a response (status, version, replica; error `http-<status>` for 3xx
    and up); whether the status was a success, so the caller goes on to check the body."""
    record.status = response.status_code
    record.version = response.headers.get("x-app-version")
    record.replica = response.headers.get("x-app-replica")
    if response.status_code >= 300:
        record.error = f"http-{response.status_code}"
        return False
    return True


def take_exception(record: RequestRecord, error: Exception) -> None:
    """Record how a request failed: the transport kind for httpx errors, `unexpected-<type>` for
    anything else (never a silent success)."""
    if isinstance(error, httpx.HTTPError):
        record.error = classify(error)
    else:
        record.error = f"unexpected-{type(error).__name__}"


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
