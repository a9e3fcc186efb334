"""Does a Traefik reload put a server its own health check marked DOWN back in rotation?

Traefik's health check could take a drained replica out within its own interval (1 s here)
instead of Docker's (30 s by default). But Traefik's docker provider rebuilds its configuration
at every container event (a start, a die, a health status), and a rebuilt load balancer may start
with every server UP. This measures it on the lab (Traefik's health check added by
bench/overrides/traefik-healthcheck.yml; Docker's interval 60 s, so Docker itself does not drop
the drained replica during the measurement):

1. drain app-1 (SIGUSR1: it fails /healthz but serves on) right after Docker's own check of it;
2. wait until Traefik's API says its server is DOWN;
3. cause three reloads, 8 s apart: scale the service up by one, down again, up again;
4. all along, poll Traefik's API every 0.1 s and send 20 GET/s through Traefik's port on
   127.0.0.1, counting the answers app-1 gives after it was first DOWN.

    make bench-health-reset        (about 3 minutes)

Out: out/bench/health-reset.json and a summary line per reload.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from lab.compose_lab import ensure_images, private_project
from lab.config import REPO_ROOT, load_config
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import connect, send_signal, service_containers
from zerodrop.adapters.traefik_api import api_object
from zerodrop.waits import wait_for

OVERRIDE = REPO_ROOT / "bench" / "overrides" / "traefik-healthcheck.yml"
DOCKER_INTERVAL = "60s"
RELOADS = (3, 2, 3)  # the service's container count at each reload
RELOAD_GAP = 8.0  # seconds between reloads
POLL = 0.05


def server_status(api_url: str, url: str) -> str:
    """UP, DOWN, or absent: the server's status in Traefik's API."""
    doc = api_object(api_url, "/api/http/services/app@docker") or {}
    return str((doc.get("serverStatus") or {}).get(url, "absent"))


def main() -> None:
    """Run the measurement once and print what it saw."""
    client, base = connect(), load_config()
    ensure_images(client, base, ("v1",))
    with private_project(
        client, base, "zdbench", {"APP_HEALTH_INTERVAL": DOCKER_INTERVAL}, override=OVERRIDE
    ) as cfg:
        api, web = f"http://127.0.0.1:{cfg.api_port}", f"http://127.0.0.1:{cfg.http_port}"
        app1 = sorted(service_containers(client, cfg.project, cfg.service), key=lambda c: c.name or "")[0]
        ip = next(iter(app1.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
        url, replica = f"http://{ip}:8000", app1.attrs["Config"]["Hostname"]

        def checks() -> int:
            app1.reload()
            return len(app1.attrs["State"]["Health"]["Log"])

        seen = checks()
        wait_for(lambda: checks() > seen, what="Docker's next check of app-1", timeout=90, interval=0.2)
        t0 = time.monotonic()
        send_signal(app1, "SIGUSR1")
        wait_for(
            lambda: server_status(api, url) == "DOWN",
            what="Traefik to mark app-1 DOWN",
            timeout=20,
            interval=0.05,
        )
        down_at = time.monotonic() - t0
        events: list[dict[str, object]] = []
        answers: list[tuple[float, str]] = []
        last = "DOWN"
        reloads: list[float] = []
        with httpx.Client(headers={"Host": cfg.app_host}, timeout=5) as http:
            next_reload = time.monotonic() + 2
            end = time.monotonic() + 2 + RELOAD_GAP * len(RELOADS)
            pending = list(RELOADS)
            while time.monotonic() < end:
                now = time.monotonic()
                if pending and now >= next_reload:
                    compose.scale(cfg, pending.pop(0))
                    reloads.append(time.monotonic() - t0)
                    next_reload += RELOAD_GAP
                status = server_status(api, url)
                if status != last:
                    events.append({"at": round(time.monotonic() - t0, 2), "status": status})
                    last = status
                answer = http.get(f"{web}/")
                answers.append((time.monotonic() - t0, answer.headers.get("x-app-replica", "?")))
                time.sleep(POLL)
        after = [at for at, who in answers if who == replica]
        result = {
            "down_after_drain_s": round(down_at, 2),
            "reloads_at_s": [round(r, 2) for r in reloads],
            "status_changes": events,
            "requests": len(answers),
            "answered_by_drained_replica": len(after),
            "answered_by_it_at_s": [round(a, 2) for a in after],
        }
    out = base.out_dir / "bench" / "health-reset.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
