"""Long-lived streams held through Traefik by the probe, as standard clients hold them: SSE lanes
read the stream as a browser's EventSource does (named events it has no listener for are ignored,
the server's `retry:` hint is kept across connections, and when the response ends the lane
reconnects after that hint with `Last-Event-ID`), WebSocket lanes reconnect after a close and send
`{"resume": ID}`. Every connection is a segment of its lane; `classify` says, for every ending,
whether it was a clean handover or a drop, and of which kind (zerodrop.measure.stream_verdicts)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import aiohttp

from zerodrop.errors import StreamMalformed as Malformed
from zerodrop.measure.stream_verdicts import DEFAULT_RETRY_MS, ENDED, MALFORMED, STOPPED, StreamSegment

SSE, WEBSOCKET = "sse", "ws"
MAX_RETRY_MS = 10_000  # a server's retry hint is clamped to this
WS_RECONNECT_MS = 100  # a WebSocket lane reconnects this long after a close
DROP_BACKOFF = 1.0  # after a drop a lane waits at least this long before it reconnects
READ_TIMEOUT = 5.0  # no event for this long (ticks come every 100 ms) ends a segment as a drop
MAX_SEGMENTS = 20_000  # no probe opens more streams than this, whatever happens
WAKE_STEP = 0.05  # a lane's reconnect wait wakes this often to see whether the probe stopped
WS_SERVICE_RESTART = 1012


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
