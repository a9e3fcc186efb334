"""Long-lived streams held through Traefik by the probe, as standard clients hold them: SSE lanes
read the stream as a browser's EventSource does (named events it has no listener for are ignored,
the server's `retry:` hint is kept across connections, and when the response ends the lane
reconnects after that hint with `Last-Event-ID`), WebSocket lanes reconnect after a close and send
`{"resume": ID}`. Every connection is a segment of its lane; `classify` says, for every ending,
whether it was a clean handover or a drop, and of which kind.

A clean handover: the server ended the stream at a message boundary (an SSE response that ended
after a complete event, or a WebSocket close 1012), the lane reconnected within the retry hint
plus RECONNECT_MARGIN, and it resumed at exactly the next id. Nothing of ours is needed for it."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

SSE, WEBSOCKET = "sse", "ws"
ENDED, STOPPED = "ended", "stopped"  # the server ended it at a message boundary; the probe stopped
MALFORMED = "malformed"  # data that is not an event the probe can read: a drop, and the lane moves on
RECONNECT_MARGIN = 1.0  # s beyond the retry hint a reconnect may take (to its first event) and be clean
DEFAULT_RETRY_MS = 3000  # EventSource's reconnection time until the server sets one (Chromium's)
MAX_RETRY_MS = 10_000  # a server's retry hint is clamped to this
WS_RECONNECT_MS = 100  # a WebSocket lane reconnects this long after a close
DROP_BACKOFF = 1.0  # after a drop a lane waits at least this long before it reconnects
READ_TIMEOUT = 5.0  # no event for this long (ticks come every 100 ms) ends a segment as a drop
MAX_SEGMENTS = 20_000  # no probe opens more streams than this, whatever happens
WAKE_STEP = 0.05  # a lane's reconnect wait wakes this often to see whether the probe stopped
WS_SERVICE_RESTART = 1012


class Malformed(ValueError):
    """Stream data the probe cannot read as one of the app's events."""


@dataclass
class StreamSegment:
    """One connection of a lane: when, to which replica, the ids it got, and how it ended."""

    lane: str
    kind: str
    start: float
    end: float = 0.0
    first_id: int | None = None
    last_id: int | None = None
    first_at: float | None = None
    events: int = 0
    inner_gaps: int = 0  # ids that did not follow the one before, within this connection
    version: str = ""
    replica: str = ""
    ending: str = ""  # ended, stopped, reset, eof-mid-event, timeout, malformed, http-NNN, close-NNNN
    last_at: float | None = None  # when its last event arrived
    retry_ms: int = DEFAULT_RETRY_MS  # the reconnection time in force when it ended
    goodbye: bool = False  # the server named its ending (an `event: goodbye`, which EventSource ignores)


@dataclass
class StreamsReport:
    """Every ending classified: handovers, drops by kind, and the longest silence a client saw."""

    lanes: int
    segments: int
    handovers: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    longest_silence: float = 0.0  # from a connection's last event to the lane's next, failed tries included

    def line(self) -> str:
        """'streams: 6 lanes, 14 connections; 8 clean handovers; dropped: none; ...'."""
        drops = ", ".join(f"{k} {n}" for k, n in self.drops.most_common()) or "none"
        return (
            f"streams: {self.lanes} lane(s), {self.segments} connection(s); {self.handovers} clean "
            f"handover(s); dropped: {drops}; longest silence {self.longest_silence:.2f}s"
        )


def _verdict(segment: StreamSegment, after: StreamSegment | None) -> str | None:
    """How a connected segment's ending turned out, given its lane's next connection attempt:
    'handover', a drop kind, or None (the probe stopped before anything could follow). An
    ending that was not the server's clean end is named for itself, whatever followed."""
    if segment.ending != ENDED:
        return segment.ending
    if after is None:
        return None
    if after.first_id is None:
        return "reconnect-failed"
    expected = segment.last_id + 1 if segment.last_id is not None else after.first_id
    if after.first_id != expected:
        return "gap" if after.first_id > expected else "duplicate"
    reconnect = (after.first_at or after.end) - segment.end
    return "handover" if reconnect <= segment.retry_ms / 1000 + RECONNECT_MARGIN else "slow-reconnect"


def classify(segments: list[StreamSegment]) -> StreamsReport:
    """Each connected segment's ending (except the probe's own stop), lane by lane; and a lane
    whose first connection failed."""
    lanes: dict[str, list[StreamSegment]] = {}
    for segment in sorted(segments, key=lambda s: s.start):
        lanes.setdefault(segment.lane, []).append(segment)
    report = StreamsReport(len(lanes), len(segments))
    for lane in lanes.values():
        for i, segment in enumerate(lane):
            if segment.inner_gaps:
                report.drops["gap-within-stream"] += segment.inner_gaps
            if segment.first_id is None and i == 0 and segment.ending != STOPPED:
                report.drops["connect-failed"] += 1  # the lane's first try (later ones: the verdict)
            if segment.first_id is None or segment.ending == STOPPED:
                continue
            verdict = _verdict(segment, lane[i + 1] if i + 1 < len(lane) else None)
            report.longest_silence = max(report.longest_silence, _silence(segment, lane[i + 1 :]))
            if verdict == "handover":
                report.handovers += 1
            elif verdict is not None:
                report.drops[verdict] += 1
    return report


def _silence(segment: StreamSegment, later: list[StreamSegment]) -> float:
    """How long the lane's client went without an event after this segment's last one: until the
    first event of the next connection that got one, across failed attempts (until the last
    attempt's end if none got one before the probe stopped; to its own end if nothing followed)."""
    since = segment.last_at if segment.last_at is not None else segment.end
    resumed = next((s.first_at for s in later if s.first_at is not None), None)
    if resumed is not None:
        return resumed - since
    return max((later[-1].end if later else segment.end) - since, 0.0)


def _take_event(segment: StreamSegment, data: str, at: float) -> None:
    """One event's id and origin into its segment; Malformed if it is not one of the app's."""
    try:
        body = json.loads(data)
        n = int(body["id"])
    except (ValueError, TypeError, KeyError):
        raise Malformed(data[:80]) from None
    if segment.first_id is None:
        segment.first_id, segment.first_at = n, at
        segment.version, segment.replica = str(body.get("version", "")), str(body.get("replica", ""))
    elif segment.last_id is not None and n != segment.last_id + 1:
        segment.inner_gaps += 1
    segment.last_id, segment.last_at = n, at
    segment.events += 1


def _dispatch(segment: StreamSegment, fields: dict[str, str]) -> None:
    """One complete SSE block, as EventSource takes it: `retry` (digits only) sets the reconnection
    time, a block with data is an event, and one named other than `message` has no listener."""
    if "retry" in fields:
        if not fields["retry"].isdigit():
            raise Malformed(f"retry: {fields['retry'][:20]}")
        segment.retry_ms = min(int(fields["retry"]), MAX_RETRY_MS)
    if "data" not in fields:
        return
    if fields.get("event", "message") != "message":
        segment.goodbye = segment.goodbye or fields["event"] == "goodbye"
        return
    _take_event(segment, fields["data"], time.time())


async def _read_sse(
    response: aiohttp.ClientResponse, segment: StreamSegment, stop: Callable[[], bool]
) -> None:
    """Events until the response ends (at a message boundary: ENDED; inside an event: a drop) or a
    stop."""
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith(":"):
            continue  # a comment
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        _dispatch(segment, fields)
        fields = {}
        if stop():
            segment.ending = STOPPED
            return
    segment.ending = "eof-mid-event" if fields else ENDED


async def _read_ws(
    socket: aiohttp.ClientWebSocketResponse, segment: StreamSegment, stop: Callable[[], bool]
) -> None:
    """Messages until the socket closes (1012, service restart: ENDED) or a stop."""
    async for message in socket:
        if message.type == aiohttp.WSMsgType.TEXT:
            _take_event(segment, message.data, time.time())
        if stop():
            segment.ending = STOPPED
            return
    code = socket.close_code
    segment.ending = ENDED if code == WS_SERVICE_RESTART else f"close-{code}"


async def _connect_once(
    session: aiohttp.ClientSession,
    segment: StreamSegment,
    path: str,
    last: int | None,
    stop: Callable[[], bool],
) -> None:
    """One connection of a lane, its ending recorded in the segment."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=READ_TIMEOUT)
    try:
        if segment.kind == SSE:
            headers = {"Last-Event-ID": str(last)} if last is not None else {}
            async with session.get(path, headers=headers, timeout=timeout) as response:
                if response.status != 200:
                    segment.ending = f"http-{response.status}"
                else:
                    await _read_sse(response, segment, stop)
        else:
            async with session.ws_connect(
                path, timeout=aiohttp.ClientWSTimeout(ws_receive=READ_TIMEOUT, ws_close=2.0)
            ) as socket:
                await socket.send_json({"resume": last})
                await _read_ws(socket, segment, stop)
    except Malformed:
        segment.ending = MALFORMED
    except (TimeoutError, aiohttp.ServerTimeoutError):
        segment.ending = "timeout"
    except aiohttp.WSServerHandshakeError as error:
        segment.ending = f"http-{error.status}"
    except (aiohttp.ClientError, ConnectionError) as error:
        failed = f"connect-failed:{type(error).__name__}"
        segment.ending = "reset" if segment.first_id is not None else failed


async def _wait(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep up to `seconds`, waking as soon as the probe stops."""
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        await asyncio.sleep(min(WAKE_STEP, max(deadline - time.monotonic(), 0.0)))


async def stream_lane(
    session: aiohttp.ClientSession,
    lane: str,
    *,
    kind: str,
    path: str,
    segments: list[StreamSegment],
    stop: Callable[[], bool],
) -> None:
    """Hold one stream until `stop()`, reconnecting and resuming as a standard client does."""
    last: int | None = None
    retry_ms = DEFAULT_RETRY_MS if kind == SSE else WS_RECONNECT_MS
    while not stop() and len(segments) < MAX_SEGMENTS:
        segment = StreamSegment(lane, kind, time.time(), retry_ms=retry_ms)
        segments.append(segment)
        await _connect_once(session, segment, path, last, stop)
        segment.end = time.time()
        last = segment.last_id if segment.last_id is not None else last
        retry_ms = segment.retry_ms
        if segment.ending != STOPPED:
            wait = retry_ms / 1000 if segment.ending == ENDED else max(retry_ms / 1000, DROP_BACKOFF)
            await _wait(wait, stop)
