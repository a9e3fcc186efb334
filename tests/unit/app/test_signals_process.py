"""Real signals to a real `python -m zerodrop_app` process: drain, undrain, graceful exit 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.unit.serving import free_port, start_slow_request
from zerodrop.waits import wait_for

APP_DIR = Path(__file__).resolve().parents[3] / "app"


def healthz(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code
    except httpx.TransportError:
        return None


@contextmanager
def app_process(
    tmp_path: Path, replica: str, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real `python -m zerodrop_app` process on a free port, ready; killed if still running."""
    port = free_port()
    env = {**os.environ, "APP_PORT": str(port), "APP_REPLICA": replica, "DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(APP_DIR), **settings}  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "zerodrop_app"], env=env, cwd=tmp_path)
    try:
        wait_for(lambda: healthz(url) == 200, what="process ready", timeout=15, interval=0.05)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_signals_drive_readiness_and_sigterm_exits_zero_with_work_done(tmp_path):
    """1. start the app 2. SIGUSR1: readiness 503, still serving 3. SIGUSR2: ready again
    4. a slow request and a write 5. SIGTERM: the request completes, exit code 0, write persisted."""
    settings = {"SLOW_SECONDS": "1.5", "DRAIN_SECONDS": "0.5", "SHUTDOWN_WORK_SECONDS": "0.1"}
    with app_process(tmp_path, "proc", **settings) as (process, url):
        process.send_signal(signal.SIGUSR1)
        wait_for(lambda: healthz(url) == 503, what="drained", timeout=5, interval=0.02)
        assert httpx.get(f"{url}/?seconds=0").status_code == 200
        process.send_signal(signal.SIGUSR2)
        wait_for(lambda: healthz(url) == 200, what="undrained", timeout=5, interval=0.02)

        event_id = httpx.post(f"{url}/events", json={"n": 1}).json()["id"]
        with ThreadPoolExecutor(1) as pool:
            slow = start_slow_request(pool, url)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            assert slow.result(timeout=5).status_code == 200
    lines = (tmp_path / "events-proc.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [event_id]


def test_a_second_sigterm_after_an_empty_drain_window_still_persists_the_writes(tmp_path):
    """DRAIN_SECONDS=0 (the window ends at once): 1. a write is buffered 2. SIGTERM, then a second
    SIGTERM (a double Ctrl-C, or a stop on top of a kill) 3. exit 0 and the write is on disk: only
    a third signal forces an exit that skips the shutdown work."""
    with app_process(tmp_path, "twice", DRAIN_SECONDS="0", SHUTDOWN_WORK_SECONDS="0.5") as (process, url):
        event_id = httpx.post(f"{url}/events", json={"n": 1}).json()["id"]
        process.send_signal(signal.SIGTERM)
        wait_for(lambda: healthz(url) != 200, what="the stop under way", timeout=5, interval=0.01)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    lines = (tmp_path / "events-twice.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [event_id]


def test_a_shutdown_write_that_fails_is_not_a_clean_exit(tmp_path):
    """DATA_DIR cannot be created (a file stands where the folder should be): the acknowledged
    write cannot be persisted, so the process must not exit 0 (the rollout would count it clean)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = {"DRAIN_SECONDS": "0", "SHUTDOWN_WORK_SECONDS": "0", "DATA_DIR": str(blocker / "data")}
    with app_process(tmp_path, "nowrite", **settings) as (process, url):
        assert httpx.post(f"{url}/events", json={"n": 1}).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) != 0


def test_a_large_body_is_refused_before_it_is_read(tmp_path):
    """A client declares a 50 MB event and sends 10 bytes of it: the app answers 413 at once,
    without waiting for (or holding) the rest."""
    with app_process(tmp_path, "big") as (_process, url):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(
                b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 52428800\r\n\r\n{"n": 1, "'
            )
            assert conn.recv(4096).split(b"\r\n", 1)[0] == b"HTTP/1.1 413 Request Entity Too Large"


@pytest.mark.parametrize(
    ("name", "value"),
    [("DRAIN_SECONDS", "nan"), ("GRACEFUL_TIMEOUT", "inf"), ("SLOW_SECONDS", "-1"), ("APP_PORT", "70000")],
)
def test_a_setting_that_is_not_a_finite_duration_stops_the_start(tmp_path, name, value):
    """nan would never end the lame duck; the app refuses it at start, in one line, exit 2."""
    env = {**os.environ, "PYTHONPATH": str(APP_DIR), "DATA_DIR": str(tmp_path), name: value}
    done = subprocess.run(
        [sys.executable, "-m", "zerodrop_app"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"zerodrop_app: {name}={value!r}"), lines


def test_a_fractional_graceful_timeout_is_not_truncated_to_zero(tmp_path):
    """GRACEFUL_TIMEOUT=0.9 once became 0 (int()), and a request in flight at the stop was cut
    with a 500: a request of 0.5 s must finish, and the process exit 0."""
    settings = {"GRACEFUL_TIMEOUT": "0.9", "DRAIN_SECONDS": "0", "SLOW_SECONDS": "0.5"}
    with app_process(tmp_path, "frac", **settings) as (process, url), ThreadPoolExecutor(1) as pool:
        slow = start_slow_request(pool, url)
        process.send_signal(signal.SIGTERM)
        assert slow.result(timeout=10).status_code == 200
        assert process.wait(timeout=30) == 0
