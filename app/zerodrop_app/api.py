"""The HTTP API: slow work, liveness, readiness, buffered writes and a stats view."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import AppSettings
from .state import Phase, ReplicaState, persist_events
from .streams import add_stream_routes

log = logging.getLogger("zerodrop.app")

# Probe endpoints: answered at once and left out of the in-flight count a drain waits on.
PROBE_PATHS = frozenset({"/health", "/healthz", "/stats"})
MAX_EVENT_BYTES = 4096
# Buffered events are held in memory until the shutdown work persists them: beyond this many, a
# write is refused with 503 (not acknowledged, so not lost) instead of growing without bound.
MAX_BUFFERED_EVENTS = 10_000
IDLE_WAIT_MAX_SECONDS = 5.0  # the longest /stats?idle_within= may hold a request
IDLE_WAIT_STEP_SECONDS = 0.02


class ReplicaMiddleware:
    """Tags every response with the version and replica, and counts in-flight work requests."""

    def __init__(self, app: ASGIApp, settings: AppSettings, state: ReplicaState) -> None:
        self.app = app
        self.state = state
        self.headers = [
            (b"x-app-version", settings.version.encode()),
            (b"x-app-replica", settings.replica.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting it and tagging its response."""
        if scope["type"] == "websocket":  # a stream: in-flight work until it ends
            self.state.inflight += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.state.inflight -= 1
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        counted = scope["path"] not in PROBE_PATHS
        if counted:
            self.state.inflight += 1
        try:
            await self.app(scope, receive, send_tagged)
        finally:
            if counted:
                self.state.inflight -= 1
                self.state.served += 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


async def read_event(request: Request) -> dict[str, Any] | JSONResponse:
    """The request's JSON object, or the error to answer: 413 as soon as the body (declared or
    read so far) passes MAX_EVENT_BYTES, so a large body is never read whole; 422 if it is not a
    JSON object."""
    too_large = JSONResponse({"error": "event too large"}, status_code=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
        return too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_EVENT_BYTES:
            return too_large
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return JSONResponse({"error": "expected a JSON object"}, status_code=422)
    return payload


async def shutdown_work(state: ReplicaState, settings: AppSettings) -> None:
    """Persist the buffered events; a failure is logged and marks the state, so the process does
    not exit 0 with acknowledged writes unwritten."""
    try:
        written = await persist_events(state, settings.data_dir, settings.shutdown_work_seconds)
    except OSError as error:
        state.shutdown_failed = True
        log.error("shutdown work FAILED, %d events not persisted: %s", len(state.buffered), error)
        return
    log.info("shutdown work done: %d buffered events persisted", written)


def add_stats_route(app: FastAPI, identity: Callable[[], dict[str, Any]], state: ReplicaState) -> None:
    """`GET /stats`: what the rollout asks from inside a replica."""

    @app.get("/stats")
    async def stats(
        idle_within: float = Query(0.0, ge=0.0, le=IDLE_WAIT_MAX_SECONDS),
        streams_within: float = Query(0.0, ge=0.0, le=IDLE_WAIT_MAX_SECONDS),
    ) -> dict[str, Any]:
        """The replica's state: phase, in-flight work requests (streams included), streams,
        buffered and persisted events. With `idle_within` (or `streams_within`), answered as soon
        as no work request (no stream) is in flight, or after that many seconds: a rollout
        waiting for a drained replica learns it at once."""
        deadline = time.monotonic() + max(idle_within, streams_within)
        while time.monotonic() < deadline and (
            (idle_within and state.inflight) or (streams_within and state.streams_open)
        ):
            await asyncio.sleep(IDLE_WAIT_STEP_SECONDS)
        return {**identity(), **state.snapshot()}


def create_app(settings: AppSettings, state: ReplicaState | None = None) -> FastAPI:
    """Build the app around one replica's state (a fresh one unless given)."""
    state = state or ReplicaState(replica=settings.replica)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Initialisation runs after the socket is bound, so /healthz can say 503 meanwhile.
        async def initialise() -> None:
            await asyncio.sleep(settings.startup_delay)
            state.mark_ready()
            log.info("replica %s (%s) ready", settings.replica, settings.version)

        starter = asyncio.create_task(initialise())
        yield
        starter.cancel()
        # Shutdown work: runs after uvicorn has let in-flight requests finish.
        await shutdown_work(state, settings)

    app = FastAPI(title="zerodrop app", version=settings.version, lifespan=lifespan)
    app.state.replica = state

    def identity() -> dict[str, Any]:
        return {"version": settings.version, "replica": settings.replica}

    add_health_routes(app, identity, state)
    add_work_routes(app, settings, state, identity)
    add_event_routes(app, settings, state, identity)
    add_stats_route(app, identity, state)
    add_stream_routes(app, settings, state)
    app.add_middleware(ReplicaMiddleware, settings=settings, state=state)
    return app


def add_health_routes(app: FastAPI, identity: Callable[[], dict[str, Any]], state: ReplicaState) -> None:
    """`GET /health` (liveness) and `GET /healthz` (readiness: 200 only when ready)."""

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {**identity(), "status": "alive"}

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Readiness: 200 only when ready, 503 while starting or draining."""
        body = {**identity(), "phase": state.phase.value}
        return JSONResponse(body, status_code=200 if state.phase is Phase.READY else 503)


def starting(state: ReplicaState, settings: AppSettings) -> JSONResponse | None:
    """The answer a work request gets while the replica starts (503), None once it is ready."""
    if state.phase is Phase.STARTING:
        return JSONResponse({"error": "starting", "replica": settings.replica}, status_code=503)
    return None


def add_work_routes(
    app: FastAPI, settings: AppSettings, state: ReplicaState, identity: Callable[[], dict[str, Any]]
) -> None:
    """The work the probe loads: `GET /` (slow) and `GET /ping` (medium); 503 while starting."""

    @app.get("/")
    async def slow(seconds: float | None = Query(default=None, ge=0, le=settings.longest_request)) -> Any:
        """Slow work: sleeps SLOW_SECONDS (or ?seconds=, at most what a stop lets finish) then
        answers."""
        if (busy := starting(state, settings)) is not None:
            return busy
        state.slow_started += 1
        started = _now()
        duration = settings.slow_seconds if seconds is None else seconds
        await asyncio.sleep(duration)
        return {**identity(), "slept": duration, "start": started, "end": _now()}

    @app.get("/ping")
    async def ping() -> Any:
        """Medium work: sleeps PING_SECONDS then answers."""
        if (busy := starting(state, settings)) is not None:
            return busy
        started = _now()
        await asyncio.sleep(settings.ping_seconds)
        return {**identity(), "pong": True, "start": started, "end": _now()}


def add_event_routes(
    app: FastAPI, settings: AppSettings, state: ReplicaState, identity: Callable[[], dict[str, Any]]
) -> None:
    """The writes: `POST /events` (buffered, persisted by the shutdown work) and `GET /events`
    (what is buffered now)."""

    @app.post("/events")
    async def add_event(request: Request, hold: float = Query(default=0, ge=0, le=5)) -> Any:
        """Buffer a small JSON object (after `hold` seconds of simulated work); it is persisted by
        the shutdown work. 413 above 4 KB (checked before the body is parsed), 503 when the
        buffer is full: a write that is not acknowledged is not lost."""
        if (busy := starting(state, settings)) is not None:
            return busy
        payload = await read_event(request)
        if isinstance(payload, JSONResponse):
            return payload
        if hold:
            await asyncio.sleep(hold)
        if len(state.buffered) >= MAX_BUFFERED_EVENTS:
            return JSONResponse({"error": "buffer full", "replica": settings.replica}, status_code=503)
        event_id = state.add_event(payload)
        return {**identity(), "id": event_id, "accepted": time.time()}

    @app.get("/events")
    async def buffered_events() -> dict[str, Any]:
        """Ids of the events buffered in memory, not yet persisted (for the lost-write check)."""
        return {**identity(), "buffered": [item["id"] for item in state.buffered]}
