"""The script the lab runs inside a replica to ask the app (in_container.IN_CONTAINER_GET), run
here with this interpreter against the real app on a loopback port."""

from __future__ import annotations

import json
import subprocess
import sys

from zerodrop_app.settings import AppSettings

from tests.unit.serving import app_in_thread, free_port
from zerodrop.adapters.in_container import IN_CONTAINER_GET


def ask(port: int, path: str, timeout: float = 3.0) -> subprocess.CompletedProcess[str]:
    """Run the in-container client as `docker exec` would: python -S -c SCRIPT PORT PATH TIMEOUT."""
    command = [sys.executable, "-S", "-c", IN_CONTAINER_GET, str(port), path, str(timeout)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_prints_the_json_body_of_a_200(tmp_path):
    settings = AppSettings(version="v7", replica="r-ic", data_dir=tmp_path, shutdown_work_seconds=0.0)
    with app_in_thread(settings) as app:
        port = int(app.url.rsplit(":", 1)[1])
        answered = ask(port, "/stats?idle_within=0.2")
    assert answered.returncode == 0, answered.stderr
    stats = json.loads(answered.stdout)
    assert stats["version"] == "v7" and stats["phase"] == "ready" and stats["inflight"] == 0


def test_fails_with_the_status_on_anything_but_200(tmp_path):
    settings = AppSettings(version="v7", replica="r-ic", data_dir=tmp_path, shutdown_work_seconds=0.0)
    with app_in_thread(settings) as app:
        port = int(app.url.rsplit(":", 1)[1])
        missing = ask(port, "/no-such-page")
        refused = ask(port, "/stats?idle_within=60")  # out of range: 422
    assert (missing.returncode, missing.stdout) == (1, "HTTP 404")
    assert (refused.returncode, refused.stdout) == (1, "HTTP 422")


def test_fails_when_nothing_listens():
    answered = ask(free_port(), "/stats", timeout=1.0)
    assert answered.returncode == 1 and "ConnectionRefusedError" in answered.stderr
