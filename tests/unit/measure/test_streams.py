"""The probe's streams: every ending classified from its lane's segments (pure logic), and lanes
held on a real uvicorn serving the real app (no Docker): consecutive events, nothing counted as
dropped when nothing was, and a client that ignores the goodbye counted as exactly that."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from zerodrop_app.settings import AppSettings

from tests.unit.serving import app_in_thread
from zerodrop.errors import ProbeInputError
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.probe_thread import ProbeThread
from zerodrop.measure.report import summarize
from zerodrop.measure.streams import GOODBYE, STOPPED, StreamSegment, classify
from zerodrop.waits import wait_for


def seg(start: float, first: int | None, last: int | None, ending: str, **more) -> StreamSegment:
    """A segment of lane sse-1: connected at `start`, first event 0.05 s later, ended 1 s later."""
    first_at = None if first is None else start + 0.05
    return StreamSegment("sse-1", "sse", start, start + 1.0, first, last, first_at, ending=ending, **more)


def test_a_goodbye_then_a_resume_with_the_next_id_soon_enough_is_a_clean_handover():
    report = classify([seg(0, 1, 10, GOODBYE), seg(1.1, 11, 20, STOPPED)])
    assert (report.handovers, dict(report.drops)) == (1, {})
    assert report.longest_gap == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("ending", "next_first", "next_start", "kind"),
    [
        (GOODBYE, 13, 1.1, "gap"),
        (GOODBYE, 9, 1.1, "duplicate"),
        (GOODBYE, 11, 4.0, "slow-reconnect"),
        ("eof", 11, 1.1, "eof-without-goodbye"),
        ("reset", 11, 1.1, "reset-without-goodbye"),
        (GOODBYE, None, 1.1, "reconnect-failed"),
        ("reset", None, 1.1, "reset-without-goodbye"),  # named for the ending, whatever followed
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


def test_the_gap_a_client_saw_runs_across_failed_reconnects_until_its_next_event():
    failed = StreamSegment("sse-1", "sse", 1.2, 1.3, ending="http-404")
    report = classify([seg(0, 1, 10, GOODBYE), failed, seg(5.0, 11, 20, STOPPED)])
    assert dict(report.drops) == {"reconnect-failed": 1}
    assert report.longest_gap == pytest.approx(5.05 - 1.0)


def test_a_client_that_ignored_the_goodbye_is_counted_as_such_whatever_follows():
    report = classify([seg(0, 1, 10, GOODBYE, ignores_goodbye=True), seg(1.1, 11, 12, STOPPED)])
    assert dict(report.drops) == {"ignored-goodbye": 1}


def test_stream_options_are_checked():
    base = ProbeOptions(base_url="http://127.0.0.1:1", host="h")
    bad = [replace(base, streams=-1), replace(base, streams=150, websockets=60)]
    for options in [*bad, replace(base, ignoring_goodbye=1)]:
        with pytest.raises(ProbeInputError):
            options.check()
    replace(base, streams=2, websockets=2, ignoring_goodbye=1).check()


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(replica="p1", version="v7", slow_seconds=0.3, data_dir=tmp_path, stream_linger=0.3)


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


def test_a_client_that_ignores_the_goodbye_is_cut_by_the_app_and_counted_as_a_drop(settings):
    with app_in_thread(settings) as running:
        probe = ProbeThread(stream_probe(running.url, streams=2, ignoring_goodbye=1, duration=2.5), out=print)
        probe.start()
        stats = f"{running.url}/stats"
        wait_for(lambda: httpx.get(stats).json()["streams"] == 2, what="2 streams open", timeout=5)
        running.server.request_end_streams()
        wait_for(
            lambda: httpx.get(stats).json()["streams_cut"] == 1, what="the ignoring client cut", timeout=5
        )
        result = probe.wait(30)
    report = result.streams_report()
    assert report is not None
    assert report.drops["ignored-goodbye"] == 1
    goodbyes = [s for s in result.streams if s.ending == GOODBYE and s.first_id is not None]
    assert {s.lane for s in goodbyes} == {"sse-1", "sse-2"}
