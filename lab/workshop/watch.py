"""What happened during an action, as seen from outside it: Traefik adding and dropping servers (a
thread polling its API) and the engine's own container events (starts, signals, exits). The
workshop draws both on its timelines, so a plain `docker stop` is as visible as a rollout's
phases."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import docker

from zerodrop.adapters.docker_sdk import replicas
from zerodrop.adapters.traefik_api import routed_ips
from zerodrop.errors import TraefikUnavailable
from zerodrop.target import ComposeTarget

# (unix time, what, container name; "" for the whole stack)
Mark = tuple[float, str, str]

POLL_SECONDS = 0.1  # Traefik's API is asked ten times a second: its own changes are 1 s apart at best
MAX_WATCH_SECONDS = 1800.0  # a watch that nobody stops ends by itself
SIGNALS = {"15": "SIGTERM", "9": "SIGKILL", "10": "SIGUSR1", "12": "SIGUSR2", "1": "SIGHUP"}


@dataclass
class RoutingWatch:
    """Polls Traefik's API for the service's servers and records each one it adds or drops,
    named by the container that had that IP."""

    client: docker.DockerClient
    cfg: ComposeTarget
    marks: list[Mark] = field(default_factory=list)
    _names: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _name(self, ip: str) -> str:
        if ip not in self._names:
            for replica in replicas(self.client, self.cfg.project, self.cfg.service, all=True):
                self._names.update(dict.fromkeys(replica.ips, short_name(replica.name, self.cfg.project)))
        return self._names.get(ip, ip)

    def _routed(self) -> set[str] | None:
        try:
            return routed_ips(self.cfg.api_url, self.cfg.traefik_service, timeout=1.0)
        except TraefikUnavailable:
            return None

    def run(self) -> None:
        """Poll until stopped (or MAX_WATCH_SECONDS); record every change after the first look."""
        deadline = time.monotonic() + MAX_WATCH_SECONDS
        seen = self._routed() or set()
        for ip in seen:
            self._name(ip)
        while not self._stop.wait(POLL_SECONDS) and time.monotonic() < deadline:
            now = self._routed()
            if now is None:
                continue
            at = time.time()
            self.marks += [(at, "Traefik adds", self._name(ip)) for ip in sorted(now - seen)]
            self.marks += [(at, "Traefik drops", self._name(ip)) for ip in sorted(seen - now)]
            seen = now

    def stop(self) -> None:
        """End the polling."""
        self._stop.set()


@dataclass
class EngineEvents:
    """The engine's events for the project's containers, streamed as they happen (the engine
    keeps only its last 256 events, which a minute of healthchecks fills, so asking afterwards
    misses the early ones): each start, signal sent (docker stop's SIGTERM and SIGKILL, a drain's
    SIGUSR1), health turning healthy, and exit."""

    client: docker.DockerClient
    project: str
    marks: list[Mark] = field(default_factory=list)
    _stream: Any = None

    def open(self) -> None:
        """Subscribe from now on."""
        self._stream = self.client.events(
            since=int(time.time()),
            filters={"type": "container", "label": f"com.docker.compose.project={self.project}"},
            decode=True,
        )

    def run(self) -> None:
        """Read the stream until it is closed."""
        try:
            for event in self._stream:
                mark = _mark(event)
                if mark is not None:
                    self.marks.append((mark[0], mark[1], short_name(mark[2], self.project)))
        except Exception:  # the stream closed under the reader: the watch is over
            return

    def close(self) -> None:
        """End the subscription (and with it `run`)."""
        if self._stream is not None:
            self._stream.close()


@dataclass
class Watch:
    """What a watch saw, in time order once it ended."""

    marks: list[Mark] = field(default_factory=list)


@contextmanager
def watching(client: docker.DockerClient, cfg: ComposeTarget) -> Iterator[Watch]:
    """Traefik's routing and the engine's events, watched for the duration of the block (from
    its start: earlier moments are not marked); always stopped. The marks are filled at the end."""
    routes = RoutingWatch(client, cfg)
    engine = EngineEvents(client, cfg.project)
    engine.open()
    threads = [
        threading.Thread(target=routes.run, name="routing-watch", daemon=True),
        threading.Thread(target=engine.run, name="engine-events", daemon=True),
    ]
    for thread in threads:
        thread.start()
    watch = Watch()
    started = time.time()
    try:
        yield watch
    finally:
        routes.stop()
        engine.close()
        for thread in threads:
            thread.join(timeout=5)
        watch.marks = sorted(m for m in routes.marks + engine.marks if m[0] >= started)


def short_name(container: str, project: str) -> str:
    """A container's name without its project's prefix: app-1 for zdws-s3b-8bffc5-app-1."""
    return container.removeprefix(f"{project}-")


def _mark(event: dict[str, Any]) -> Mark | None:
    """One engine event as a mark, None for the ones a timeline does not show."""
    action = str(event.get("Action") or event.get("status") or "")
    attributes = (event.get("Actor") or {}).get("Attributes") or {}
    at = int(event.get("timeNano") or 0) / 1e9
    name = str(attributes.get("name", ""))
    what = {
        "start": "start",
        "die": "exit",
        "health_status: healthy": "healthy",
    }.get(action)
    if action == "kill":
        what = SIGNALS.get(str(attributes.get("signal")), f"signal {attributes.get('signal')}")
    return (at, what, name) if what else None
