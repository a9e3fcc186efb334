"""Page 12, replacing Traefik itself. Both variants run Traefik in the anchor's network namespace
with reusePort (docker-compose.proxy-anchor.yml) and change one static setting (the web
entrypoint's graceTimeOut, 20s -> 18s), under the probe with streams held. Broken: compose's own
`docker compose up -d traefik`, which stops the old Traefik before it starts the new one. Fixed:
`zerodrop rollout-proxy`: first with an image that cannot run Traefik (it is undone: the old one
serves on), then the change itself; then `zerodrop up`, which finds nothing to change, and,
with the setting changed again, replaces Traefik the same way. Beside the probe (kept-alive
connections), requests on fresh connections meet whichever Traefik listens."""

from __future__ import annotations

import os
import subprocess
import sys

from lab.compose_lab import wait_all_routed
from lab.config import REPO_ROOT
from lab.fresh_connections import fresh_connections
from lab.workshop.harness import BROKEN, FIXED, Outcome, Page, Scene
from lab.workshop.p09_long_lived import after
from lab.workshop.watch import Mark
from zerodrop.adapters import compose, docker_sdk
from zerodrop.adapters.compose_file import read_env_file
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import RequestRecord

ANCHOR = REPO_ROOT / "docker-compose.proxy-anchor.yml"
# The web entrypoint's graceTimeOut: 20s on both stacks (above the app's 15 s requests, so the old
# Traefik can finish them; below the lab's 30s, so compose's recreate takes less of the run), then
# changed. A static setting: only a new Traefik process takes it.
BEFORE = {"TRAEFIK_GRACE_TIMEOUT": "20s"}
CHANGE = {"TRAEFIK_GRACE_TIMEOUT": "18s"}
UP_CHANGE = {"TRAEFIK_GRACE_TIMEOUT": "17s"}  # then changed again, for `zerodrop up` to replace it
NEW_IMAGE = "PROXY_ROLLOUT_IMAGE"  # `make proxy-rollout TRAEFIK_IMAGE=...`: the new Traefik's image
# HTTP/1.1's idle-close race (RFC 9112, section 9.5): at its SIGTERM a Traefik (Go's http.Server)
# closes its idle client connections at once; a request a client sends on one at that instant is
# reset. No proxy hand-over can remove it (Traefik has no close-after-the-next-response, as
# HAProxy's idle-close-on-response); browsers resend such a request, aiohttp does not. A reset
# begun this close to a Traefik's SIGTERM is that race.
RACE_SECONDS = 0.5


def traefik_ids(scene: Scene) -> list[str]:
    """The running Traefik containers of the stack."""
    return [c.id or "" for c in docker_sdk.service_containers(scene.client, scene.cfg.project, "traefik")]


def zerodrop(
    scene: Scene, command: str, *args: str, change: dict[str, str] = CHANGE
) -> subprocess.CompletedProcess[str]:
    """`zerodrop COMMAND` on the stack, as a user runs it, with the change."""
    flags = ["-p", scene.cfg.project, *[a for f in scene.cfg.compose_files for a in ("-f", str(f))]]
    env = {**os.environ, **scene.cfg.compose_env(), **change}
    return subprocess.run(
        [sys.executable, "-m", "zerodrop", command, *flags, *args], env=env, capture_output=True,
        text=True, timeout=300, cwd=REPO_ROOT, check=False,
    )  # fmt: skip


def rollout_proxy(scene: Scene, *args: str) -> subprocess.CompletedProcess[str]:
    """`zerodrop rollout-proxy`, its exit and its lines noted."""
    scene.mark(f"zerodrop rollout-proxy {' '.join(args)}".strip())
    done = zerodrop(scene, "rollout-proxy", *args)
    scene.outcome.exit_codes.append(done.returncode)
    scene.outcome.notes += [line for line in done.stdout.splitlines() if line.startswith("rollout-proxy: ")]
    scene.outcome.notes += [line for line in done.stderr.splitlines() if line.strip()]
    return done


def action(scene: Scene) -> None:
    """Replace Traefik with the changed setting, the variant's way, while requests on fresh
    connections (the probe's reuse theirs) meet whichever Traefik the kernel hands them to."""
    before = traefik_ids(scene)
    with fresh_connections(scene.cfg.http_port, scene.cfg.app_host) as fresh:
        replace_traefik(scene, before)
    scene.outcome.notes.append(fresh.line())
    scene.outcome.figures["fresh-connection requests"] = fresh.requests
    scene.outcome.figures["fresh-connection failed"] = fresh.failed
    now = traefik_ids(scene)
    scene.outcome.figures["Traefik replaced"] = int(len(now) == 1 and not set(now) & set(before))


def replace_traefik(scene: Scene, before: list[str]) -> None:
    """compose's recreate (broken), or an undone attempt and then `zerodrop rollout-proxy` (fixed)."""
    if scene.variant == BROKEN:
        scene.mark("docker compose up -d traefik")
        compose.up(scene.cfg, "--no-deps", "traefik", extra_env=CHANGE)
        wait_all_routed(scene.client, scene.cfg, scene.cfg.replicas, timeout=120)
        return
    python = read_env_file(REPO_ROOT / ".env").get("PYTHON_IMAGE") or "python:3.12-slim"
    rollout_proxy(scene, "--image", python)  # not Traefik: it cannot start, and is undone
    scene.outcome.figures["old Traefik kept after the undone attempt"] = int(traefik_ids(scene) == before)
    image = os.environ.get(NEW_IMAGE)
    rollout_proxy(scene, *(["--image", image] if image else []))
    if not image:  # the files say what runs now: `zerodrop up` (as compose) finds nothing to change
        planned = zerodrop(scene, "up", "--dry-run")
        scene.outcome.figures["up finds every service unchanged"] = int(
            planned.returncode == 0 and planned.stdout.count(": unchanged (") == 3
        )
        scene.mark("zerodrop up (Traefik changed again)")
        done = zerodrop(scene, "up", change=UP_CHANGE)
        scene.outcome.exit_codes.append(done.returncode)
        scene.outcome.notes += [line for line in done.stdout.splitlines() if line.startswith("up: traefik")]


def idle_close_races(marks: list[Mark], failures: list[RequestRecord]) -> list[RequestRecord]:
    """The failed requests the idle-close race explains: reset, begun within RACE_SECONDS of a
    Traefik's SIGTERM."""
    stops = [at for at, what, who in marks if what == "SIGTERM" and who.startswith("traefik")]
    return [
        r for r in failures if r.error == "reset" and any(abs(r.start - at) <= RACE_SECONDS for at in stops)
    ]


def after_replacement(scene: Scene, probe: ProbeResult) -> None:
    """The streams' figures, and how many requests the idle-close race reset."""
    after(scene, probe)
    races = idle_close_races(scene.outcome.marks, probe.failures)
    scene.outcome.figures["requests reset at a Traefik's SIGTERM (idle-close race)"] = len(races)


def verdict(outcome: Outcome) -> list[str]:
    """What the fix missed: a failed request the idle-close race does not explain, a dropped
    stream, a Traefik not replaced, the undone attempt not undone, a wrong exit ([] when it held)."""
    failures = outcome.probe.failures if outcome.probe else []
    races = idle_close_races(outcome.marks, failures)
    missed = [f"{r.kind} {r.error}" for r in failures if r not in races][:10]
    figures = outcome.figures
    if figures.get("fresh-connection failed", 1) or not figures.get("fresh-connection requests"):
        missed.append(next(n for n in outcome.notes if n.startswith("fresh connections")))
    handed, dropped = figures.get("streams handed over"), figures.get("streams dropped")
    if dropped is None or dropped > 0 or not handed:
        missed.append(f"streams: {handed} handed over, {dropped} dropped")
    if not figures.get("Traefik replaced") or not figures.get("old Traefik kept after the undone attempt"):
        missed.append(f"containers: {figures}")
    if not os.environ.get(NEW_IMAGE) and not figures.get("up finds every service unchanged"):
        missed.append("after the replacement, `zerodrop up --dry-run` found a service to change")
    expected = 2 if os.environ.get(NEW_IMAGE) else 3  # the attempt, rollout-proxy, and `zerodrop up`
    codes = outcome.exit_codes
    if len(codes) != expected or codes[0] in (0, None) or any(code != 0 for code in codes[1:]):
        missed.append(f"exit codes {codes} (expected the attempt to fail, then 0)")
    return missed


PAGE = Page(
    12,
    "replacing Traefik itself",
    action,
    variables={BROKEN: BEFORE, FIXED: BEFORE},
    overrides={BROKEN: ANCHOR, FIXED: ANCHOR},
    after=after_replacement,
    streams=True,
    verdict=verdict,
)
