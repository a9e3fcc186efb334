"""The probe's streams: every ending classified from its lane's segments (pure logic), and lanes
held on a real uvicorn serving the real app (no Docker): consecutive events, nothing counted as
dropped when nothing was, the server's end of a stream a clean handover with no client action,
and data the probe cannot read a drop of its own kind."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from zerodrop_app.settings import AppSettings

from lab.probe_thread import ProbeThread
from tests.unit.serving import app_in_thread
from zerodrop.errors import ProbeInputError
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.report import summarize
from zerodrop.measure.stream_verdicts import ENDED, MALFORMED, STOPPED, StreamSegment, classify
from zerodrop.waits import wait_for


def seg(start: float, first: int | None, last: int | None, ending: str, **more) -> StreamSegment:
    """A segment of lane sse-1: connected at `start`, first event 0.05 s later, its last event
    0.95 s later, ended 1 s later, with the lab's retry hint of 100 ms."""
    first_at = None if first is None else start + 0.05
    last_at = None if first is None else start + 0.95
    more = {"retry_ms": 100, **more}
    return StreamSegment(
        "sse-1", "sse", start, start + 1.0, first, last, first_at, ending=ending, last_at=last_at, **more
    )


def test_the_servers_end_then_a_resume_with_the_next_id_within_the_hint_is_a_clean_handover():
    """No goodbye event is needed: the response ended at a message boundary, the client came
    back after the retry hint and got exactly the next id."""
    report = classify([seg(0, 1, 10, ENDED), seg(1.1, 11, 20, STOPPED)])
    assert (report.handovers, dict(report.drops)) == (1, {})
    assert report.longest_silence == pytest.approx(1.15 - 0.95)


@pytest.mark.parametrize(
    ("ending", "next_first", "next_start", "kind"),
    [
        (ENDED, 13, 1.1, "gap"),
        (ENDED, 9, 1.1, "duplicate"),
        (ENDED, 11, 2.2, "slow-reconnect"),  # 1.25 s after the end: past the 0.1 s hint + the margin
        ("eof-mid-event", 11, 1.1, "eof-mid-event"),
        ("reset", 11, 1.1, "reset"),
        (MALFORMED, 11, 1.1, MALFORMED),
        (ENDED, None, 1.1, "reconnect-failed"),
        ("reset", None, 1.1, "reset"),  # named for the ending, whatever followed
    ],
)
def test_every_other_ending_is_a_drop_of_its_kind(ending, next_first, next_start, kind):
    after = seg(next_start, next_first, None if next_first is None else next_first + 5, STOPPED)
    report = classify([seg(0, 1, 10, ending), after])
    assert (report.handovers, dict(report.drops)) == (0, {kind: 1})


def test_the_probes_own_stop_is_no_drop_but_a_lane_that_never_connected_and_inner_gaps_are():
    assert not classify([seg(0, 1, 10, STOPPED)]).drops
    never = classify([seg(0, None, None, "connect-failed:ClientConnectorError")])
    assert dict(never.drops) == {"connect-failed": 1}
    holes = classify([replace(seg(0, 1, 10, STOPPED), inner_gaps=2)])
    assert dict(holes.drops) == {"gap-within-stream": 2}


def test_the_silence_a_client_saw_runs_across_failed_reconnects_until_its_next_event():
    failed = StreamSegment("sse-1", "sse", 1.2, 1.3, ending="http-404")
    report = classify([seg(0, 1, 10, ENDED), failed, seg(5.0, 11, 20, STOPPED)])
    assert dict(report.drops) == {"reconnect-failed": 1}
    assert report.longest_silence == pytest.approx(5.05 - 0.95)


def test_a_longer_retry_hint_allows_a_longer_reconnect():
    report = classify([seg(0, 1, 10, ENDED, retry_ms=3000), seg(3.5, 11, 20, STOPPED)])
    assert (report.handovers, dict(report.drops)) == (1, {})


def test_stream_options_are_checked():
    base = ProbeOptions(base_url="http://127.0.0.1:1", host="h")
    for options in [replace(base, streams=-1), replace(base, streams=150, websockets=60)]:
        with pytest.raises(ProbeInputError):
            options.check()
    replace(base, streams=2, websockets=2).check()


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(replica="p1", version="v7", slow_seconds=0.3, data_dir=tmp_path)


def stream_probe(url: str, **changes) -> ProbeOptions:
    base = ProbeOptions(
        base_url=url, host="app.test", long_concurrency=0, short_rate=5, write_rate=0, duration=1.5
    )
    return replace(base, **changes)


def test_held_streams_get_consecutive_events_and_the_report_keeps_them(settings):
    with app_in_thread(settings) as running:
        result = ProbeThread(stream_probe(running.url, streams=2, websockets=2), out=print).start().wait(30)
    assert {s.lane for s in result.streams} == {"sse-1", "sse-2", "ws-1", "ws-2"}
    assert all(s.ending == STOPPED and s.inner_gaps == 0 and s.version == "v7" for s in result.streams)
    assert all(s.events >= 8 for s in result.streams), [s.events for s in result.streams]
    report = result.streams_report()
    assert report is not None and not report.drops and report.segments == 4
    assert "streams: 4 lane(s), 4 connection(s)" in summarize(result)
    again = ProbeResult.from_json(result.to_json())
    assert again.streams == result.streams


def test_the_end_of_streams_is_a_clean_handover_for_a_client_that_only_reconnects(settings):
    """The app ends every stream on SIGHUP; the probe's lanes, which know nothing of goodbyes,
    reconnect after the retry hint, resume at the next id, and nothing counts as dropped."""
    with app_in_thread(settings) as running:
        probe = ProbeThread(stream_probe(running.url, streams=2, websockets=1, duration=2.5), out=print)
        probe.start()
        stats = f"{running.url}/stats"
        wait_for(lambda: httpx.get(stats).json()["streams"] == 3, what="3 streams open", timeout=5)
        state = running.server.state
        running.server.request_end_streams()
        # The lanes come back after the 100 ms hint; here to this same replica, as if to a fresh one.
        wait_for(lambda: state.streams_ended >= 3, what="3 streams ended", timeout=5, interval=0.005)
        state.end_streams = False
        result = probe.wait(30)
    report = result.streams_report()
    assert report is not None
    assert dict(report.drops) == {}, report.line()
    ended = [s for s in result.streams if s.ending == ENDED]
    assert {s.lane for s in ended} >= {"sse-1", "sse-2", "ws-1"}
    assert report.handovers >= 3 and report.longest_silence < 1.0, report.line()
    assert all(s.retry_ms == 100 for s in result.streams if s.kind == "sse"), "the app's hint was kept"


@pytest.mark.parametrize(
    "body",
    [
        b"retry: 100\n\ndata: not json\n\n",
        b'data: {"version": "v1"}\n\n',
        b"retry: soon\n\n",
    ],
)
def test_data_the_probe_cannot_read_is_a_malformed_drop_not_a_crash(body):
    """A server that sends something other than the app's events: the lane records a drop of
    kind `malformed`, and every record gathered so far is kept."""
    import asyncio

    from aiohttp import web

    from zerodrop.measure.probe import Probe

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(body)
        await asyncio.sleep(0.5)
        return response

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def main() -> ProbeResult:
        app = web.Application()
        app.router.add_get("/stream", handler)
        app.router.add_get("/health", health)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            options = stream_probe(f"http://127.0.0.1:{port}", streams=1, duration=1.0, app_checks=False)
            return await Probe(options, out=lambda _: None).run()
        finally:
            await runner.cleanup()

    result = asyncio.run(main())
    assert result.streams and result.streams[0].ending == MALFORMED
    assert len(result.records) > 0, "the records gathered so far are kept"


def test_a_servers_retry_hint_is_clamped_and_a_lane_waiting_on_it_wakes_when_the_probe_stops():
    """A server that asks for a day between reconnects: the lane waits at most MAX_RETRY_MS, and
    its wait ends as soon as the probe stops, so the probe ends within its own duration."""
    import asyncio
    import time

    from aiohttp import web

    from zerodrop.measure.probe import Probe
    from zerodrop.measure.streams import MAX_RETRY_MS

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'retry: 86400000\nid: 1\ndata: {"id": 1}\n\n')
        return response  # the end of the response: the lane waits for the hint, clamped

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def main() -> tuple[ProbeResult, float]:
        app = web.Application()
        app.router.add_get("/stream", handler)
        app.router.add_get("/health", health)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started = time.monotonic()
        try:
            options = stream_probe(f"http://127.0.0.1:{port}", streams=1, duration=1.0, app_checks=False)
            result = await Probe(options, out=lambda _: None).run()
        finally:
            await runner.cleanup()
        return result, time.monotonic() - started

    result, took = asyncio.run(main())
    assert result.streams[0].retry_ms == MAX_RETRY_MS
    assert took < 5.0, f"the probe ran {took:.1f}s: the lane's wait did not wake at the stop"
