"""Long-lived connections: `GET /stream` (server-sent events) and `/ws` (a WebSocket), one event
per 100 ms tick of a clock every replica shares (the host's), so an event is derivable from its
id alone and any replica can resume any stream: SSE from `Last-Event-ID`, the WebSocket from a
first message `{"resume": ID}`. Ids are consecutive integers: a client that resumes from the last
id it saw gets no gap and no duplicate.

Ending them: after SIGHUP (`ReplicaState.end_streams`) every stream ends the standard way, so no
client needs to know anything of ours. An SSE stream sends its last event, then an `event: goodbye`
(for clients that want to know why; a plain EventSource ignores it), and the server ends the
response; EventSource then reconnects by itself after the `retry:` hint every stream carries from
its first event, with `Last-Event-ID`, through Traefik to another replica. A WebSocket is closed
with code 1012 (service restart). STREAM_LINGER_SECONDS (default 0) holds an SSE response open that
long after its goodbye, for a client that leaves on its own; the server ends it all the same."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from .settings import AppSettings
from .state import ReplicaState

TICK_SECONDS = 0.1
RETRY_MS = 100  # the `retry:` hint every SSE stream gives: a client reconnects after this long
RESUME_WAIT_SECONDS = 2.0  # a WebSocket client has this long to send its resume message
WS_SERVICE_RESTART = 1012
DISCONNECT_POLL_SECONDS = 0.05


def tick_now() -> int:
    """The id of the tick under way on the shared clock."""
    return int(time.time() / TICK_SECONDS)


def first_id(resume_after: object) -> int:
    """Where a stream starts: right after the id a client resumes from, else at the current tick."""
    if isinstance(resume_after, int) and not isinstance(resume_after, bool) and resume_after >= 0:
        return resume_after + 1
    if isinstance(resume_after, str) and resume_after.strip().isdigit():
        return int(resume_after) + 1
    return tick_now()


async def ticks(state: ReplicaState, start: int) -> AsyncIterator[int]:
    """Consecutive ids from `start`: missed ticks at once (a resume), then one per tick. Once the
    replica is told to end its streams, the stream ends right after its next event, so the
    client's wait for the next one starts fresh; on a draining replica one opened after that ends
    at once."""
    n, opened_in = start, state.streams_round
    if state.end_streams:
        return
    while True:
        while n <= tick_now():
            yield n
            n += 1
            if state.end_streams or state.streams_round != opened_in:
                return
        await asyncio.sleep(max(0.0, min(TICK_SECONDS, (n * TICK_SECONDS) - time.time())))


def add_stream_routes(app: FastAPI, settings: AppSettings, state: ReplicaState) -> None:
    """`GET /stream` and `/ws` on the app."""
    identity = {"version": settings.version, "replica": settings.replica}

    async def sse(request: Request, start: int) -> AsyncIterator[str]:
        state.streams_open += 1
        try:
            n = start - 1
            yield f"retry: {RETRY_MS}\n\n"  # a field alone dispatches no event; EventSource keeps it
            async for n in ticks(state, start):
                yield f"id: {n}\ndata: {json.dumps({'id': n, **identity})}\n\n"
            state.streams_ended += 1
            goodbye = {"reconnect": True, "after": n, **identity}
            yield f"event: goodbye\nretry: {RETRY_MS}\ndata: {json.dumps(goodbye)}\n\n"
            deadline = time.monotonic() + settings.stream_linger
            while time.monotonic() < deadline and not await request.is_disconnected():
                await asyncio.sleep(DISCONNECT_POLL_SECONDS)
        finally:  # returning ends the response at a message boundary: the client reconnects
            state.streams_open -= 1

    @app.get("/stream")
    async def stream(request: Request) -> StreamingResponse:
        """Server-sent events, one per tick; resumes after `Last-Event-ID`."""
        start = first_id(request.headers.get("last-event-id"))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(sse(request, start), media_type="text/event-stream", headers=headers)

    @app.websocket("/ws")
    async def websocket(socket: WebSocket) -> None:
        """The same ticks as JSON messages; the first message may be `{"resume": ID}`."""
        await socket.accept()
        try:
            hello: Any = await asyncio.wait_for(socket.receive_json(), RESUME_WAIT_SECONDS)
        except (TimeoutError, ValueError, WebSocketDisconnect):
            hello = {}
        start = first_id(hello.get("resume") if isinstance(hello, dict) else None)
        state.streams_open += 1
        try:
            async for n in ticks(state, start):
                await socket.send_json({"id": n, **identity})
            state.streams_ended += 1
            await socket.close(code=WS_SERVICE_RESTART, reason="service restart: reconnect and resume")
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client left
        finally:
            state.streams_open -= 1
            with contextlib.suppress(Exception):
                await socket.close()
