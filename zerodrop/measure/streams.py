"""Long-lived streams held through Traefik by the probe, as a well-behaved client holds them: SSE
lanes that resume from `Last-Event-ID`, WebSocket lanes that send `{"resume": ID}`; after a goodbye
(an SSE `goodbye` event, WebSocket close 1012) a lane reconnects after the server's retry hint,
after anything else after a back-off. Every connection is a segment of its lane; `classify` says,
for every ending, whether it was a clean handover or a drop, and of which kind."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

SSE, WEBSOCKET = "sse", "ws"
GOODBYE, STOPPED = "goodbye", "stopped"
RECONNECT_BOUND = 2.0  # a reconnect that takes longer than this (s) to deliver an event is a drop
DROP_BACKOFF = 1.0  # a lane whose stream dropped waits this long before it reconnects
READ_TIMEOUT = 5.0  # no event for this long (ticks come every 100 ms) ends a segment as a drop
MAX_SEGMENTS = 20_000  # no probe opens more streams than this, whatever happens
WS_SERVICE_RESTART = 1012


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
    ending: str = ""  # goodbye, stopped, eof, reset, timeout, http-NNN, close-NNNN, ...
    ignores_goodbye: bool = False


@dataclass
class StreamsReport:
    """Every ending classified: handovers, drops by kind, and the longest reconnect gap."""

    lanes: int
    segments: int
    handovers: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    longest_gap: float = 0.0  # from a connection's end to the lane's next event, failed tries included

    def line(self) -> str:
        """'streams: 6 lanes, 14 connections; 8 clean handovers; dropped: none; ...'."""
        drops = ", ".join(f"{k} {n}" for k, n in self.drops.most_common()) or "none"
        return (
            f"streams: {self.lanes} lane(s), {self.segments} connection(s); {self.handovers} clean "
            f"handover(s); dropped: {drops}; longest reconnect gap {self.longest_gap:.2f}s"
        )


def _verdict(segment: StreamSegment, after: StreamSegment | None) -> tuple[str | None, float]:
    """How a connected segment's ending turned out, given its lane's next connection attempt:
    'handover', a drop kind, or None (the probe stopped before anything could follow); and the
    reconnect gap it cost. An ending without a goodbye is named for that, whatever followed."""
    goodbye = segment.ending == GOODBYE
    if goodbye and segment.ignores_goodbye:
        return "ignored-goodbye", 0.0  # the client's doing: the app cut it after its linger
    if after is None:
        return (None if goodbye else f"{segment.ending}-without-goodbye"), 0.0
    gap = (after.end if after.first_at is None else after.first_at) - segment.end
    if not goodbye:
        return f"{segment.ending}-without-goodbye", gap
    if after.first_id is None:
        return "reconnect-failed", gap
    expected = segment.last_id + 1 if segment.last_id is not None else after.first_id
    if after.first_id != expected:
        return ("gap" if after.first_id > expected else "duplicate"), gap
    return ("handover" if gap <= RECONNECT_BOUND else "slow-reconnect"), gap


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
            verdict, _ = _verdict(segment, lane[i + 1] if i + 1 < len(lane) else None)
            report.longest_gap = max(report.longest_gap, _gap_seen(segment, lane[i + 1 :]))
            if verdict == "handover":
                report.handovers += 1
            elif verdict is not None:
                report.drops[verdict] += 1
    return report


def _gap_seen(segment: StreamSegment, later: list[StreamSegment]) -> float:
    """How long the lane's client went without an event after this segment ended: until the
    first event of the next connection that got one, across failed attempts (until the last
    attempt's end if none got one before the probe stopped; 0 if nothing followed)."""
    resumed = next((s.first_at for s in later if s.first_at is not None), None)
    if resumed is not None:
        return resumed - segment.end
    return max(later[-1].end - segment.end, 0.0) if later else 0.0


def _take_event(segment: StreamSegment, data: str, at: float) -> None:
    """One event's id and origin into its segment."""
    body = json.loads(data)
    n = int(body["id"])
    if segment.first_id is None:
        segment.first_id, segment.first_at = n, at
        segment.version, segment.replica = str(body.get("version", "")), str(body.get("replica", ""))
    elif segment.last_id is not None and n != segment.last_id + 1:
        segment.inner_gaps += 1
    segment.last_id = n
    segment.events += 1


async def _read_sse(
    response: aiohttp.ClientResponse, segment: StreamSegment, stop: Callable[[], bool]
) -> int:
    """Events until the stream ends, a goodbye (the retry hint in ms is returned) or a stop."""
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        if fields.get("event") == GOODBYE:
            segment.ending = GOODBYE
            if not segment.ignores_goodbye:
                return int(fields.get("retry", "100") or 100)
        elif "data" in fields:
            _take_event(segment, fields["data"], time.time())
        fields = {}
        if stop():
            segment.ending = STOPPED
            return 0
    segment.ending = segment.ending or "eof"
    return 100 if segment.ending == GOODBYE else 0


async def _read_ws(
    socket: aiohttp.ClientWebSocketResponse, segment: StreamSegment, stop: Callable[[], bool]
) -> int:
    """Messages until the socket closes (1012: a goodbye) or a stop."""
    async for message in socket:
        if message.type == aiohttp.WSMsgType.TEXT:
            _take_event(segment, message.data, time.time())
        if stop():
            segment.ending = STOPPED
            return 0
    code = socket.close_code
    segment.ending = GOODBYE if code == WS_SERVICE_RESTART else f"close-{code}"
    return 100 if segment.ending == GOODBYE else 0


async def stream_lane(
    session: aiohttp.ClientSession,
    lane: str,
    *,
    kind: str,
    path: str,
    segments: list[StreamSegment],
    stop: Callable[[], bool],
    ignores_goodbye: bool = False,
) -> None:
    """Hold one stream until `stop()`, reconnecting and resuming as a well-behaved client does."""
    last: int | None = None
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=READ_TIMEOUT)
    while not stop() and len(segments) < MAX_SEGMENTS:
        segment = StreamSegment(lane, kind, time.time(), ignores_goodbye=ignores_goodbye)
        segments.append(segment)
        retry_ms = 0
        try:
            if kind == SSE:
                headers = {"Last-Event-ID": str(last)} if last is not None else {}
                async with session.get(path, headers=headers, timeout=timeout) as response:
                    if response.status != 200:
                        segment.ending = f"http-{response.status}"
                    else:
                        retry_ms = await _read_sse(response, segment, stop)
            else:
                async with session.ws_connect(
                    path, timeout=aiohttp.ClientWSTimeout(ws_receive=READ_TIMEOUT, ws_close=2.0)
                ) as socket:
                    await socket.send_json({"resume": last})
                    retry_ms = await _read_ws(socket, segment, stop)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            segment.ending = "timeout"
        except aiohttp.WSServerHandshakeError as error:
            segment.ending = f"http-{error.status}"
        except (aiohttp.ClientError, ConnectionError) as error:
            failed = f"connect-failed:{type(error).__name__}"
            segment.ending = "reset" if segment.first_id is not None else failed
        segment.end = time.time()
        last = segment.last_id if segment.last_id is not None else last
        if segment.ending != STOPPED:
            await asyncio.sleep(retry_ms / 1000 if segment.ending == GOODBYE else DROP_BACKOFF)
