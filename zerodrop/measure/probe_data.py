"""What a probe is told to do (its options, checked) and what it recorded (its result and report file)."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from yarl import URL

from zerodrop.errors import ProbeInputError
from zerodrop.measure.records import (
    WRITE,
    RequestRecord,
)
from zerodrop.measure.stream_verdicts import StreamSegment, StreamsReport, classify

MAX_DURATION = 3600.0  # a probe never runs longer than an hour, whatever it is told


MAX_LONG_SECONDS = 120.0  # the most ?seconds= the app can ever allow (its default cap is 25 s)
MAX_LANES = 200  # streams (SSE plus WebSocket) one probe holds at most


@dataclass(frozen=True)
class ProbeOptions:
    """What to send, how fast, and for how long."""

    base_url: str
    host: str
    long_concurrency: int = 4
    short_rate: float = 10.0
    write_rate: float = 5.0
    duration: float = 60.0
    long_seconds: float | None = None  # None: the app's SLOW_SECONDS
    long_timeout: float = 60.0
    short_timeout: float = 10.0
    tally_every: float = 2.0
    new_connections: bool = False  # True: a fresh TCP connection per request (no keep-alive)
    long_path: str = "/"  # a slow request (the lab's app: `?seconds=` long)
    short_path: str = "/health"  # a fast GET
    write_path: str | None = "/events"  # a POST that must not be lost; None: no writes
    app_checks: bool = True  # the lab's app: check its bodies (a write's id, a long request's end)
    streams: int = 0  # SSE streams held open for the whole run, each resuming after a reconnect
    websockets: int = 0  # WebSocket streams, the same
    stream_path: str = "/stream"
    ws_path: str = "/ws"

    def check(self) -> None:
        """ProbeInputError unless the target is 127.0.0.1 (the network rule) and the numbers make sense."""
        if URL(self.base_url).host not in {"127.0.0.1", "localhost"}:
            raise ProbeInputError(f"the probe only targets 127.0.0.1, not {self.base_url}")
        numbers = (self.short_rate, self.write_rate, self.duration, self.long_timeout, self.short_timeout)
        if not all(math.isfinite(n) for n in numbers):
            raise ProbeInputError("rates, durations and timeouts must be finite numbers")
        if min(self.long_concurrency, self.short_rate, self.write_rate) < 0 or self.duration <= 0:
            raise ProbeInputError("rates, concurrency and duration must not be negative")
        if not 0 <= self.streams + self.websockets <= MAX_LANES or min(self.streams, self.websockets) < 0:
            raise ProbeInputError(f"streams and websockets are 0 or more, at most {MAX_LANES} together")
        paths = (self.long_path, self.short_path, self.write_path or "/", self.stream_path, self.ws_path)
        if not all(path.startswith("/") for path in paths):
            raise ProbeInputError(f"paths begin with /, not {[p for p in paths if not p.startswith('/')]}")
        if self.long_seconds is not None and not 0 < self.long_seconds <= MAX_LONG_SECONDS:
            raise ProbeInputError(f"long requests last more than 0 and at most {MAX_LONG_SECONDS:.0f} s")


@dataclass
class ProbeResult:
    """Every request the probe made, with the probe's own pacing figures."""

    options: ProbeOptions
    started: float
    ended: float
    records: list[RequestRecord] = field(default_factory=list)
    behind: int = 0  # scheduled requests that could not be sent on time (probe saturated)
    streams: list[StreamSegment] = field(default_factory=list)  # every connection of every stream

    def streams_report(self) -> StreamsReport | None:
        """Every stream ending classified; None when the probe held no streams."""
        return classify(self.streams) if self.streams else None

    @property
    def failures(self) -> list[RequestRecord]:
        """The requests that did not succeed."""
        return [r for r in self.records if not r.ok]

    def failure_kinds(self) -> dict[str, int]:
        """Failed requests by request kind and error ('short:http-502'), most frequent first."""
        return dict(Counter(f"{r.kind}:{r.error}" for r in self.failures).most_common())

    @property
    def outage_seconds(self) -> float:
        """From the first failed request's start to the last one's end (0 without failures)."""
        failures = self.failures
        return max(r.end for r in failures) - min(r.start for r in failures) if failures else 0.0

    def write(self, path: Path, **extra: object) -> Path:
        """The report file: to_json() and any `extra` keys, as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**self.to_json(), **extra}), encoding="utf-8")
        return path

    def acked_event_ids(self) -> set[str]:
        """Ids of every write the app acknowledged."""
        return {r.event_id for r in self.records if r.kind == WRITE and r.ok and r.event_id}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (the --report file)."""
        return {
            "options": asdict(self.options),
            "started": self.started,
            "ended": self.ended,
            "behind": self.behind,
            "records": [asdict(r) for r in self.records],
            "streams": [asdict(s) for s in self.streams],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeResult:
        """Back from the form to_json wrote."""
        return cls(
            options=ProbeOptions(**data["options"]),
            started=data["started"],
            ended=data["ended"],
            records=[RequestRecord(**r) for r in data["records"]],
            behind=data.get("behind", 0),
            streams=[StreamSegment(**s) for s in data.get("streams", [])],
        )
