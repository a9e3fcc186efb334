"""The load probe: long requests kept in flight, short reads and writes at fixed rates, through
Traefik's published port on 127.0.0.1 only. Every request is recorded; nothing is retried.

Requests go over a pool of keep-alive connections (aiohttp, whose C parser sustains well over
1,000 requests/s on one core here), as browsers and service clients send them; `new_connections`
opens and closes a connection per request instead, which exercises Traefik's accept path."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from zerodrop.measure.probe_data import MAX_DURATION, ProbeOptions, ProbeResult
from zerodrop.measure.records import (
    LONG,
    SHORT,
    WRITE,
    RequestRecord,
    take_exception,
    take_status,
    tally_line,
)
from zerodrop.measure.stream_verdicts import StreamSegment
from zerodrop.measure.streams import SSE, WEBSOCKET, stream_lane

MAX_REQUESTS = 500_000  # nor sends more than this many requests
LONG_PAUSE_AFTER_FAILURE = 1.0  # a long-request worker whose request failed waits this long
MAX_PENDING = 400  # open-loop requests in flight at once; past this the probe counts itself behind


class Probe:
    """Runs the load; `stop()` may be called from any thread and ends it early."""

    def __init__(self, options: ProbeOptions, out: Callable[[str], None] = print) -> None:
        options.check()
        self.options = options
        self.out = out
        self.records: list[RequestRecord] = []
        self.streams: list[StreamSegment] = []
        self.behind = 0
        self._stop_requested = threading.Event()
        self.long_timeout = aiohttp.ClientTimeout(total=options.long_timeout, sock_connect=5.0)

    def stop(self) -> None:
        """Stop sending new requests; those in flight still finish."""
        self._stop_requested.set()

    def _stopping(self, deadline: float) -> bool:
        return (
            self._stop_requested.is_set() or time.monotonic() >= deadline or len(self.records) >= MAX_REQUESTS
        )

    async def _send(self, session: aiohttp.ClientSession, kind: str, n: int) -> RequestRecord:
        record = RequestRecord(kind, time.time())
        self.records.append(record)
        try:
            options = self.options
            if kind == LONG:
                params = {} if options.long_seconds is None else {"seconds": options.long_seconds}
                request = session.get(options.long_path, params=params, timeout=self.long_timeout)
            elif kind == WRITE:
                request = session.post(options.write_path or "/", json={"probe": n, "at": record.start})
            else:
                request = session.get(options.short_path)
            async with request as response:
                body = await response.read()
                if take_status(record, response.status, response.headers):
                    record.error, record.event_id = self._check_body(kind, body)
        except Exception as error:  # anything, aiohttp's errors or not, is a failure of some kind
            take_exception(record, error)
        finally:
            record.end = time.time()
        return record

    def _check_body(self, kind: str, raw: bytes) -> tuple[str | None, str | None]:
        if not self.options.app_checks:  # any service: a 2xx is an answer
            return None, None
        try:
            body = json.loads(raw)
        except ValueError:
            return "bad-body", None
        if not isinstance(body, dict):
            return "bad-body", None
        if kind == WRITE:
            return (None, str(body["id"])) if body.get("id") else ("bad-body", None)
        if kind == LONG:
            expected = self.options.long_seconds
            complete = "end" in body and (expected is None or body.get("slept") == expected)
            return (None, None) if complete else ("bad-body", None)
        return None, None

    async def _long_worker(self, session: aiohttp.ClientSession, deadline: float) -> None:
        n = 0
        while not self._stopping(deadline):
            record = await self._send(session, LONG, n)
            if not record.ok:
                # An instant 404/502 would otherwise turn a worker into a tight loop that inflates
                # the failure count; a real client pauses before it tries again.
                await asyncio.sleep(LONG_PAUSE_AFTER_FAILURE)
            n += 1

    async def _paced(self, session: aiohttp.ClientSession, kind: str, rate: float, deadline: float) -> None:
        if rate <= 0:
            return
        period = 1.0 / rate
        pending: set[asyncio.Task[RequestRecord]] = set()
        next_at = time.monotonic()
        n = 0
        while not self._stopping(deadline):
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0 or len(pending) >= MAX_PENDING:
                self.behind += 1  # more than a second late, or too much in flight: skip, count it
                next_at = time.monotonic()
            if len(pending) < MAX_PENDING:
                task: asyncio.Task[RequestRecord] = asyncio.create_task(self._send(session, kind, n))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
            next_at += period
        if pending:
            await asyncio.gather(*pending)

    async def _tally(self, deadline: float) -> None:
        started = time.monotonic()
        while not self._stopping(deadline):
            await asyncio.sleep(self.options.tally_every)
            self.out(f"probe: {time.monotonic() - started:5.1f}s {tally_line(self.records)}")

    def _lanes(self, session: aiohttp.ClientSession, deadline: float) -> list[Coroutine[Any, Any, None]]:
        """The stream lanes: SSE first, then WebSockets."""
        o = self.options

        def stop() -> bool:
            return self._stopping(deadline)

        kinds = [(SSE, o.stream_path, i) for i in range(o.streams)]
        kinds += [(WEBSOCKET, o.ws_path, i) for i in range(o.websockets)]
        return [
            stream_lane(
                session,
                f"{kind}-{i + 1}",
                kind=kind,
                path=path,
                segments=self.streams,
                stop=stop,
            )
            for kind, path, i in kinds
        ]

    async def run(self) -> ProbeResult:
        """Send the load until the duration is over or stop() is called, then let in-flight
        requests finish, and return every record."""
        started = time.time()
        duration = min(self.options.duration, MAX_DURATION)
        deadline = time.monotonic() + duration
        connector = aiohttp.TCPConnector(
            limit=MAX_PENDING
            + self.options.long_concurrency
            + self.options.streams
            + self.options.websockets
            + 10,
            force_close=self.options.new_connections,
        )
        async with aiohttp.ClientSession(
            base_url=self.options.base_url,
            headers={"Host": self.options.host},
            timeout=aiohttp.ClientTimeout(total=self.options.short_timeout, sock_connect=5.0),
            connector=connector,
        ) as session:
            tally = asyncio.create_task(self._tally(deadline))
            await asyncio.gather(
                *(self._long_worker(session, deadline) for _ in range(self.options.long_concurrency)),
                self._paced(session, SHORT, self.options.short_rate, deadline),
                self._paced(
                    session, WRITE, self.options.write_rate if self.options.write_path else 0, deadline
                ),
                *self._lanes(session, deadline),
            )
            tally.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tally
        result = ProbeResult(
            self.options, started, time.time(), list(self.records), self.behind, list(self.streams)
        )
        self.out(f"probe: done {tally_line(result.records)}")
        streams = result.streams_report()
        if streams is not None:
            self.out(f"probe: {streams.line()}")
        return result


def probe_until_signal(options: ProbeOptions, out: Callable[[str], None]) -> ProbeResult:
    """Run the probe in this thread; SIGINT or SIGTERM end it early, with its requests counted."""
    probe = Probe(options, out=out)

    async def run() -> ProbeResult:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, probe.stop)
        return await probe.run()

    return asyncio.run(run())
