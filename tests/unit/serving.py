"""Run the real app under a real uvicorn (LameDuckServer) in a thread, on an ephemeral port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from zerodrop_app.__main__ import build_server
from zerodrop_app.server import LameDuckServer
from zerodrop_app.settings import AppSettings

from lab.compose_lab import free_loopback_port
from zerodrop.waits import wait_for

free_port = free_loopback_port


@dataclass
class RunningApp:
    server: LameDuckServer
    thread: threading.Thread
    url: str


@contextmanager
def app_in_thread(settings: AppSettings) -> Iterator[RunningApp]:
    """Start the app, wait until it is ready, and always stop it at the end."""
    port = free_port()
    server = build_server(AppSettings(**{**settings.__dict__, "port": port}), host="127.0.0.1")
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, what="app in thread ready", timeout=10, interval=0.05)
        yield RunningApp(server, thread, url)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def start_slow_request(pool: Executor, url: str) -> Future[httpx.Response]:
    """Send `GET /` (the slow request) from the pool; return once the app counts it in flight."""
    slow = pool.submit(httpx.get, f"{url}/", timeout=30)
    wait_for(
        lambda: httpx.get(f"{url}/stats").json()["inflight"] == 1,
        what="slow request in flight",
        timeout=5,
        interval=0.02,
    )
    return slow
