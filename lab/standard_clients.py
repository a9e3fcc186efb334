"""Streams held by clients none of us wrote, through Traefik on 127.0.0.1: a real headless Chromium
holding plain `EventSource` objects (no listener for anything but messages: it knows nothing of
the app's goodbye), driven by selenium; and the `websockets` library's own reconnecting client,
which resumes with the app's documented first message `{"resume": ID}`.

Each lane records every event's id, arrival time and version, and how many connections it made.
`ClientLane.problems` says what a user would call broken: an id skipped or repeated, a stream the
client closed for good, or a silence longer than allowed."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from zerodrop.target import TraefikEndpoints

CHROMIUM = os.environ.get("ZERODROP_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ZERODROP_CHROMEDRIVER", "/usr/bin/chromedriver")
BROWSER_START_TIMEOUT = 60.0  # s for Chromium to start and load the first page
WS_OPEN_TIMEOUT = 5.0
MAX_EVENTS = 100_000  # no lane keeps more than this many events, however long it runs

# Plain EventSources, as any web page opens them: `onmessage` only, and the browser's own reconnect.
OPEN_EVENTSOURCES = """
window.zdLanes = [];
for (let i = 0; i < arguments[0]; i++) {
  const lane = {ids: [], at: [], versions: [], opens: 0, closed: false};
  const source = new EventSource(arguments[1]);
  source.onopen = () => { lane.opens += 1; };
  source.onmessage = (e) => {
    if (lane.ids.length >= arguments[2]) return;
    lane.ids.push(Number(e.lastEventId));
    lane.at.push(Date.now() / 1000);
    lane.versions.push(JSON.parse(e.data).version);
  };
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) lane.closed = true; };
  window.zdLanes.push(lane);
}
"""
READ_LANES = "return window.zdLanes.map(l => ({...l}));"


@dataclass
class ClientLane:
    """One stream as a standard client held it."""

    name: str
    ids: list[int] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    connections: int = 0
    closed: bool = False  # the client gave up on the stream for good

    def add(self, event_id: int, version: str) -> None:
        """One event, as it arrived."""
        if len(self.ids) < MAX_EVENTS:
            self.ids.append(event_id)
            self.at.append(time.time())
            self.versions.append(version)

    @property
    def longest_silence(self) -> float:
        """The longest time between two events in a row (0 with fewer than two)."""
        return max((b - a for a, b in zip(self.at, self.at[1:], strict=False)), default=0.0)

    def problems(self, max_silence: float) -> list[str]:
        """What a user would call broken: ids that skip or repeat, a stream closed for good, a
        silence over `max_silence` seconds."""
        found = []
        steps = [b - a for a, b in zip(self.ids, self.ids[1:], strict=False)]
        if any(step > 1 for step in steps):
            found.append(f"{self.name}: {sum(1 for s in steps if s > 1)} id(s) skipped")
        if any(step < 1 for step in steps):
            found.append(f"{self.name}: {sum(1 for s in steps if s < 1)} id(s) repeated or out of order")
        if self.closed:
            found.append(f"{self.name}: the client closed the stream for good")
        if self.longest_silence > max_silence:
            found.append(f"{self.name}: silent for {self.longest_silence:.2f}s")
        return found

    def line(self) -> str:
        """'eventsource-1: 412 events, 3 connections, versions v2 -> v1, longest silence 0.16s'."""
        order = list(dict.fromkeys(self.versions))
        return (
            f"{self.name}: {len(self.ids)} events, {self.connections} connection(s), versions "
            f"{' -> '.join(order) or '-'}, longest silence {self.longest_silence:.2f}s"
        )


def _chromium_options(host: str) -> Any:
    """Headless Chromium that can reach only `host`, mapped to 127.0.0.1 (the network rule)."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-proxy-server",
        f"--host-resolver-rules=MAP {host} 127.0.0.1, MAP * ~NOTFOUND",
    ):
        options.add_argument(flag)
    return options


@contextmanager
def browser_eventsources(cfg: TraefikEndpoints, count: int, path: str = "/stream") -> Iterator[BrowserLanes]:
    """Chromium on a page of the app's own origin (through Traefik), holding `count` plain
    EventSources on `path` until the block ends; always quit."""
    from selenium import webdriver

    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        raise FileNotFoundError(
            f"no {' or '.join(missing)}: install Chromium and its chromedriver "
            "(bash scripts/setup-browser.sh), or set ZERODROP_CHROMIUM and ZERODROP_CHROMEDRIVER"
        )
    port = cfg.http_url.rsplit(":", 1)[-1]
    with tempfile.TemporaryDirectory(prefix="zerodrop-chromium-") as profile:
        options = _chromium_options(cfg.app_host)
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(
            options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER)
        )
        try:
            driver.set_page_load_timeout(BROWSER_START_TIMEOUT)
            driver.get(f"http://{cfg.app_host}:{port}/health")
            driver.execute_script(OPEN_EVENTSOURCES, count, path, MAX_EVENTS)
            yield BrowserLanes(driver)
        finally:
            driver.quit()


class BrowserLanes:
    """The EventSources a browser holds, read back as lanes."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def lanes(self) -> list[ClientLane]:
        """Every EventSource's events so far."""
        raw: list[dict[str, Any]] = self.driver.execute_script(READ_LANES)
        return [
            ClientLane(
                f"eventsource-{i + 1}",
                [int(n) for n in lane["ids"]],
                [float(t) for t in lane["at"]],
                [str(v) for v in lane["versions"]],
                int(lane["opens"]),
                bool(lane["closed"]),
            )
            for i, lane in enumerate(raw)
        ]


async def _websockets_lane(uri: str, port: int, lane: ClientLane, stop: threading.Event) -> None:
    """The library's reconnecting client: `async for` reconnects by itself, and each connection
    resumes after the last id seen."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    last: int | None = None
    async for socket in connect(uri, host="127.0.0.1", port=port, proxy=None, open_timeout=WS_OPEN_TIMEOUT):
        lane.connections += 1
        try:
            await socket.send(json.dumps({"resume": last}))
            async for message in socket:
                body = json.loads(message)
                last = int(body["id"])
                lane.add(last, str(body.get("version", "")))
                if stop.is_set():
                    return
        except ConnectionClosed:
            pass
        if stop.is_set():
            return


class WebsocketsClients:
    """`count` lanes of the websockets library's client, on a thread of their own, until `stop()`
    or `bound` seconds."""

    def __init__(self, cfg: TraefikEndpoints, count: int, path: str = "/ws", bound: float = 900.0) -> None:
        self.uri = f"ws://{cfg.app_host}{path}"
        self.port = int(cfg.http_url.rsplit(":", 1)[-1])
        self.lanes = [ClientLane(f"websockets-{i + 1}") for i in range(count)]
        self.bound = bound
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="websockets-clients", daemon=True)

    def _run(self) -> None:
        async def all_lanes() -> None:
            async with asyncio.timeout(self.bound):
                await asyncio.gather(
                    *(_websockets_lane(self.uri, self.port, lane, self._stop) for lane in self.lanes)
                )

        with suppress(TimeoutError):
            asyncio.run(all_lanes())

    def start(self) -> WebsocketsClients:
        """Connect every lane."""
        self._thread.start()
        return self

    def stop(self) -> list[ClientLane]:
        """End every lane (within a tick of the stream) and return them."""
        self._stop.set()
        self._thread.join(10)
        return self.lanes
