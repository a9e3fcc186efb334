"""The probe against a real uvicorn serving the real app in a thread (no Docker)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from zerodrop_app.settings import AppSettings

from lab.probe_thread import ProbeThread
from tests.unit.serving import app_in_thread, free_port
from zerodrop.errors import ProbeInputError
from zerodrop.measure.probe import Probe
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import LONG, SHORT, WRITE, RequestRecord, tally_line
from zerodrop.measure.report import percentile, summarize
from zerodrop.measure.timeline import plot_timeline
from zerodrop.model import PhaseRecord
from zerodrop.waits import wait_for


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(replica="p1", version="v7", slow_seconds=0.3, drain_seconds=0.5, data_dir=tmp_path)


def options(url: str, **changes) -> ProbeOptions:
    base = ProbeOptions(
        base_url=url,
        host="app.test",
        long_concurrency=2,
        short_rate=40,
        write_rate=20,
        duration=1.5,
        tally_every=0.5,
    )
    return replace(base, **changes)


def test_probe_records_every_request_with_version_and_replica(settings):
    lines: list[str] = []
    with app_in_thread(settings) as running:
        result = ProbeThread(options(running.url), out=lines.append).start().wait(30)
    by_kind = {k: [r for r in result.records if r.kind == k] for k in (LONG, SHORT, WRITE)}
    assert not result.failures
    assert len(by_kind[SHORT]) >= 40 and len(by_kind[WRITE]) >= 20 and len(by_kind[LONG]) >= 6
    assert {r.version for r in result.records} == {"v7"} and {r.replica for r in result.records} == {"p1"}
    assert all(r.seconds >= 0.3 for r in by_kind[LONG])
    assert len(result.acked_event_ids()) == len(by_kind[WRITE])
    assert any(line.startswith("probe:") and "ok " in line for line in lines)
    assert result.behind == 0


def test_probe_sustains_its_rated_load_without_falling_behind(settings):
    """The probe must not be the bottleneck: 200 short/s + 50 writes/s for 3 s, all sent on time."""
    fast = replace(settings, slow_seconds=0.2)
    with app_in_thread(fast) as running:
        started = time.monotonic()
        result = ProbeThread(options(running.url, short_rate=200, write_rate=50, duration=3)).start().wait(30)
        elapsed = time.monotonic() - started
    shorts = sum(1 for r in result.records if r.kind == SHORT)
    writes = sum(1 for r in result.records if r.kind == WRITE)
    assert result.behind == 0, "the probe could not keep its schedule"
    assert shorts >= 0.9 * 200 * 3 and writes >= 0.9 * 50 * 3, (shorts, writes, elapsed)
    assert not result.failures


def test_refused_connections_are_failures_of_kind_refused():
    url = f"http://127.0.0.1:{free_port()}"
    result = ProbeThread(options(url, duration=0.5, long_concurrency=1)).start().wait(30)
    assert result.records and all(r.error == "refused" for r in result.records)


def test_5xx_answers_are_failures_with_their_status(settings):
    starting = replace(settings, startup_delay=30)
    # app_in_thread waits for readiness, so run the probe against a starting app directly
    from zerodrop_app.__main__ import build_server

    port = free_port()
    server = build_server(replace(starting, port=port), host="127.0.0.1")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, what="server started", timeout=10, interval=0.05)
        result = ProbeThread(options(f"http://127.0.0.1:{port}", duration=0.5)).start().wait(30)
    finally:
        server.should_exit = True
        thread.join(10)
    kinds = {r.kind: r.error for r in result.failures}
    assert kinds[LONG] == "http-503" and kinds[WRITE] == "http-503"
    assert not [r for r in result.records if r.kind == SHORT and not r.ok], "/health is liveness"


@pytest.mark.parametrize("url", ["http://10.0.0.1:8088", "http://example.com"])
def test_probe_refuses_any_target_but_loopback(url):
    with pytest.raises(ProbeInputError, match=r"127\.0\.0\.1"):
        Probe(options(url))


def test_summary_and_plot_line_up_requests_with_phases(settings, tmp_path):
    with app_in_thread(settings) as running:
        result = ProbeThread(options(running.url, duration=1.0)).start().wait(30)
    mid = (result.started + result.ended) / 2
    phases = [
        PhaseRecord("drain-to-idle", "old app-1", mid - 0.2, mid + 0.2),
        PhaseRecord("stop", "old app-1", mid, mid + 0.1),
    ]
    text = summarize(result, phases)
    assert "failed 0" in text and "during the rollout" in text and "v7" in text
    png = plot_timeline(result, phases, tmp_path / "t.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "ok" in tally_line(result.records)


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99 and percentile([], 50) == 0


def test_an_unexpected_exception_is_a_failure_of_its_own_kind(settings, monkeypatch):
    """A 2xx whose handling raises something that is not an httpx error used to count as ok."""

    def broken_check(self, kind, response):
        raise KeyError("id")

    monkeypatch.setattr(Probe, "_check_body", broken_check)
    with app_in_thread(settings) as running:
        result = ProbeThread(options(running.url, duration=0.5, long_concurrency=0)).start().wait(30)
    assert result.records and {r.error for r in result.records} == {"unexpected-KeyError"}
    assert result.acked_event_ids() == set()


@pytest.mark.parametrize("field", ["short_rate", "duration", "long_timeout"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_probe_refuses_nan_and_inf(field, value):
    with pytest.raises(ProbeInputError, match="finite"):
        Probe(options("http://127.0.0.1:1", **{field: value}))


class CountingServer:
    """A minimal HTTP/1.1 server on 127.0.0.1 that counts the connections it accepts and answers
    every request with a small JSON body, keeping the connection open as a keep-alive server does."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = free_port()

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        body = b'{"id": "e1", "end": 1}'
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":")[1]) for line in request.split(b"\r\n")
                     if line.lower().startswith(b"content-length:")),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                writer.write(head % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def serve(self, seconds: float) -> None:
        async def main() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            async with server:
                await asyncio.sleep(seconds)

        threading.Thread(target=asyncio.run, args=(main(),), daemon=True).start()
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", self.port)) == 0, what="server", timeout=5)


@pytest.mark.parametrize("new_connections", [False, True])
def test_keep_alive_pool_reuses_connections_unless_asked_for_new_ones(new_connections):
    server = CountingServer()
    server.serve(seconds=10)
    opts = options(f"http://127.0.0.1:{server.port}", long_concurrency=0, short_rate=100, write_rate=20,
                   duration=1.0, new_connections=new_connections)  # fmt: skip
    result = ProbeThread(opts).start().wait(30)
    sent = len(result.records)
    assert sent >= 100 and not result.failures
    if new_connections:
        assert server.connections >= sent, (server.connections, sent)
    else:
        assert server.connections <= 20, f"{server.connections} connections for {sent} requests"


def test_a_timeline_with_only_writes_and_no_phases_is_drawn(tmp_path):
    """Workshop 07 sends writes only: its short-request panel is empty, and must not break the plot."""
    t0 = 1000.0
    records = [RequestRecord(WRITE, t0 + i, t0 + i + 0.01, 200, "v1", "r", None, f"r-{i}") for i in range(5)]
    records.append(RequestRecord(WRITE, t0 + 6, t0 + 6.001, 502, None, None, "http-502"))
    result = ProbeResult(ProbeOptions("http://127.0.0.1:1", "h"), t0, t0 + 7, records)
    assert plot_timeline(result, [], tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"
