"""Does a Traefik reload put a server its own health check marked DOWN back in rotation?

Traefik's health check could take a drained replica out within its own interval (1 s here)
instead of Docker's (30 s by default). But Traefik's docker provider rebuilds its configuration
at every container event (a start, a die, a health status), and a rebuilt load balancer may start
with every server UP. This measures it on the lab (Traefik's health check added by
bench/overrides/traefik-healthcheck.yml; Docker's interval 60 s, so Docker itself does not drop
the drained replica during the measurement):

1. drain app-1 (SIGUSR1: it fails /healthz but serves on) right after Docker's own check of it;
2. wait until Traefik's API says its server is DOWN;
3. cause four reloads, 6 s apart: start a container the provider routes at once (a router of
   its own, no healthcheck), remove it, start another, remove it. (A change Traefik's generated
   configuration does not show, such as a replica that is not healthy yet, reloads nothing:
   Traefik skips a configuration it already has);
4. all along, poll Traefik's API and send GET /health (about 15 a second, one at a time) through
   Traefik's port on 127.0.0.1, counting the answers app-1 gives after it was first DOWN.

    make bench-health-reset        (about 3 minutes)

Out: out/bench/health-reset.json and a summary line per reload.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import httpx
from docker.models.containers import Container

from lab.compose_lab import ensure_images, private_project
from lab.config import REPO_ROOT, load_config
from zerodrop.adapters.docker_sdk import connect, send_signal, service_containers
from zerodrop.adapters.traefik_api import api_object
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

OVERRIDE = REPO_ROOT / "bench" / "overrides" / "traefik-healthcheck.yml"
DOCKER_INTERVAL = "60s"
RELOADS = ("start", "remove", "start", "remove")  # what is done to a router-only container
RELOAD_GAP = 6.0  # seconds between reloads
POLL = 0.05


def server_status(api_url: str, url: str) -> str:
    """UP, DOWN, or absent: the server's status in Traefik's API."""
    doc = api_object(api_url, "/api/http/services/app@docker") or {}
    return str((doc.get("serverStatus") or {}).get(url, "absent"))


class ReloadTrigger:
    """Containers of the project that Traefik routes as soon as they start (no healthcheck), each
    with a router and service of its own: each start and each removal changes Traefik's
    configuration, so it reloads."""

    def __init__(self, client: docker.DockerClient, cfg: ComposeTarget, image: str, network: str) -> None:
        self.client, self.cfg, self.image, self.network = client, cfg, image, network
        self.running: list[Container] = []
        self.made = 0

    def act(self, what: str) -> None:
        """Start one, or remove the last one started."""
        if what == "remove":
            self.running.pop().remove(force=True)
            return
        self.made += 1
        name = f"reload{self.made}"
        labels = {
            "com.docker.compose.project": self.cfg.project, "com.docker.compose.service": "reload-trigger",
            "traefik.enable": "true", f"traefik.http.routers.{name}.rule": f"Host(`{name}.invalid`)",
            f"traefik.http.services.{name}.loadbalancer.server.port": "8000",
        }  # fmt: skip
        self.running.append(
            self.client.containers.run(
                self.image, labels=labels, network=self.network, healthcheck={"test": ["NONE"]}, detach=True
            )
        )

    def close(self) -> None:
        """Every trigger container, gone."""
        for container in self.running:
            container.remove(force=True)
        self.running.clear()


def drain_after_dockers_check(app1: Container) -> float:
    """Drain app-1 right after Docker's own check of it (so Docker keeps calling it healthy for
    most of an interval); the monotonic time of the drain."""

    def checks() -> int:
        app1.reload()
        return len(app1.attrs["State"]["Health"]["Log"])

    seen = checks()
    wait_for(lambda: checks() > seen, what="Docker's next check of app-1", timeout=90, interval=0.2)
    drained = time.monotonic()
    send_signal(app1, "SIGUSR1")
    return drained


def answered_by(http: httpx.Client, web: str) -> str:
    """Which replica answered one GET /health through Traefik, or what went wrong."""
    try:
        answer = http.get(f"{web}/health")
    except httpx.HTTPError as error:
        return f"error:{type(error).__name__}"
    return (
        answer.headers.get("x-app-replica", "?")
        if answer.status_code == 200
        else f"error:http-{answer.status_code}"
    )


def observe(
    trigger: ReloadTrigger, status: Callable[[], str], ask: Callable[[], str], t0: float
) -> dict[str, list[Any]]:
    """Reload Traefik RELOADS times, RELOAD_GAP apart, while watching the server's status and who
    answers (bounded: RELOAD_GAP x RELOADS + 2 s)."""
    seen: dict[str, list[Any]] = {"reloads": [], "changes": [], "answers": []}
    last, pending = "DOWN", list(RELOADS)
    next_reload, end = time.monotonic() + 2, time.monotonic() + 2 + RELOAD_GAP * len(RELOADS)
    while time.monotonic() < end:
        if pending and time.monotonic() >= next_reload:
            trigger.act(pending.pop(0))
            seen["reloads"].append(round(time.monotonic() - t0, 2))
            next_reload += RELOAD_GAP
        if (now := status()) != last:
            seen["changes"].append({"at": round(time.monotonic() - t0, 2), "status": now})
            last = now
        seen["answers"].append((round(time.monotonic() - t0, 2), ask()))
        time.sleep(POLL)  # pacing the bounded loop, not a wait for a state
    return seen


def main() -> None:
    """Run the measurement once and print what it saw."""
    client, base = connect(), load_config()
    ensure_images(client, base, ("v1",))
    variables = {"APP_HEALTH_INTERVAL": DOCKER_INTERVAL}
    with private_project(client, base, "zdbench", variables, override=OVERRIDE) as cfg:
        api, web = f"http://127.0.0.1:{cfg.api_port}", f"http://127.0.0.1:{cfg.http_port}"
        app1 = sorted(service_containers(client, cfg.project, cfg.service), key=lambda c: c.name or "")[0]
        network, settings = next(iter(app1.attrs["NetworkSettings"]["Networks"].items()))
        url, replica = f"http://{settings['IPAddress']}:8000", app1.attrs["Config"]["Hostname"]
        trigger = ReloadTrigger(client, cfg, app1.attrs["Config"]["Image"], network)
        t0 = drain_after_dockers_check(app1)
        wait_for(
            lambda: server_status(api, url) == "DOWN",
            what="Traefik to mark app-1 DOWN",
            timeout=20,
            interval=0.05,
        )
        down_at = time.monotonic() - t0
        with httpx.Client(headers={"Host": cfg.app_host}, timeout=5) as http, contextlib.closing(trigger):
            seen = observe(trigger, lambda: server_status(api, url), lambda: answered_by(http, web), t0)
    answers = seen["answers"]
    result = {
        "down_after_drain_s": round(down_at, 2),
        "reloads_at_s": seen["reloads"],
        "status_changes": seen["changes"],
        "requests": len(answers),
        "answered_by_drained_replica": sum(1 for _, who in answers if who == replica),
        "answered_by_it_at_s": [at for at, who in answers if who == replica],
        "failed": [(at, who) for at, who in answers if who.startswith("error:")],
    }
    out = base.out_dir / "bench" / "health-reset.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
