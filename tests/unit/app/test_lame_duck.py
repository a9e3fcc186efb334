"""The lame-duck shutdown on a real uvicorn: drain window, then in-flight finish, then persistence."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from zerodrop_app.settings import AppSettings
from zerodrop_app.state import events_file

from tests.unit.serving import app_in_thread, start_slow_request
from zerodrop.waits import wait_for


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(
        replica="duck",
        slow_seconds=2.0,
        drain_seconds=1.0,
        graceful_timeout=10,
        shutdown_work_seconds=0.2,
        data_dir=tmp_path,
    )


def test_stop_signal_drains_then_finishes_inflight_then_persists(settings):
    """1. a slow request is in flight and one event is buffered 2. SIGTERM's handler runs
    3. during the drain window readiness fails, yet new requests and writes are served
    4. after the window new connections are refused 5. the slow request completes 200
    6. the shutdown work writes both events, after the slow request ended."""
    with app_in_thread(settings) as running, ThreadPoolExecutor(2) as pool:
        first_id = httpx.post(f"{running.url}/events", json={"n": 1}).json()["id"]
        slow = start_slow_request(pool, running.url)
        signalled = time.monotonic()
        running.server.handle_exit(signal.SIGTERM, None)  # what the SIGTERM handler calls

        assert httpx.get(f"{running.url}/healthz").status_code == 503
        assert httpx.get(f"{running.url}/health").status_code == 200
        second_id = httpx.post(f"{running.url}/events", json={"n": 2}).json()["id"]
        assert time.monotonic() - signalled < settings.drain_seconds, "still inside the drain window"

        def refused() -> bool:
            try:
                httpx.get(f"{running.url}/health", timeout=1)
            except httpx.ConnectError:
                return True
            return False

        wait_for(refused, what="listener closed after the drain window", timeout=5, interval=0.05)
        assert time.monotonic() - signalled >= settings.drain_seconds
        response = slow.result(timeout=30)
        slow_done = time.time()
        running.thread.join(timeout=15)
        assert not running.thread.is_alive()

    assert response.status_code == 200 and response.json()["slept"] == 2.0
    path = events_file(settings.data_dir, "duck")
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [first_id, second_id]
    assert path.stat().st_mtime >= slow_done - 0.05, "persisted after in-flight requests finished"


def test_drain_signal_keeps_serving_and_undrain_restores_readiness(settings):
    with app_in_thread(settings) as running:
        running.server.handle_exit(signal.SIGUSR1, None)
        assert httpx.get(f"{running.url}/healthz").status_code == 503
        assert httpx.get(f"{running.url}/?seconds=0").status_code == 200
        assert httpx.get(f"{running.url}/stats").json()["draining"] is True
        running.server.handle_exit(signal.SIGUSR2, None)
        assert httpx.get(f"{running.url}/healthz").status_code == 200
        assert running.thread.is_alive(), "draining never stops the process"


def test_stop_after_a_long_enough_drain_skips_the_window(settings):
    """A replica that was drained (SIGUSR1) for longer than DRAIN_SECONDS stops at once on SIGTERM."""
    with app_in_thread(settings) as running:
        running.server.handle_exit(signal.SIGUSR1, None)
        time.sleep(settings.drain_seconds)  # the drain itself is what is being timed here
        signalled = time.monotonic()
        running.server.handle_exit(signal.SIGTERM, None)
        running.thread.join(timeout=10)
        assert not running.thread.is_alive()
        assert time.monotonic() - signalled < settings.drain_seconds


def test_second_stop_signal_cuts_the_drain_window_short(settings):
    slow_drain = AppSettings(**{**settings.__dict__, "drain_seconds": 30.0})
    with app_in_thread(slow_drain) as running:
        running.server.handle_exit(signal.SIGTERM, None)
        assert httpx.get(f"{running.url}/healthz").status_code == 503
        running.server.handle_exit(signal.SIGTERM, None)
        running.thread.join(timeout=10)
        assert not running.thread.is_alive()
