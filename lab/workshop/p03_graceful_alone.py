"""Page 03, graceful shutdown alone is not enough. Both variants run an app that stops accepting
at SIGTERM (DRAIN_SECONDS=0). Broken: `docker stop` of a replica while Traefik routes it. Fixed:
drain it first (SIGUSR1), confirm in Traefik's API that it is out, then `docker stop`."""

from __future__ import annotations

from lab.workshop.actions import drain_and_confirm, right_after_a_healthcheck, stop_all
from lab.workshop.harness import BROKEN, FIXED, Page, Scene
from zerodrop.adapters.docker_sdk import get_container, replicas
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import LONG

PLAIN_UVICORN = {"DRAIN_SECONDS": "0"}


def action(scene: Scene) -> None:
    """Stop the first replica, the variant's way."""
    victim = scene.victim = replicas(scene.client, scene.cfg.project, scene.cfg.service)[0]
    if scene.variant == FIXED:
        seconds = drain_and_confirm(scene, victim)
        scene.outcome.figures["seconds until Traefik's API dropped it"] = round(seconds, 1)
    container = get_container(scene.client, victim.id)
    assert container is not None
    right_after_a_healthcheck(container)
    scene.mark("docker stop -t 30")
    scene.outcome.exit_codes = stop_all([container], timeout=30)


def after(scene: Scene, probe: ProbeResult) -> None:
    """How many long requests the stopped replica served, and how many of them completed."""
    assert scene.victim is not None
    served = [r for r in probe.records if r.kind == LONG and r.replica == scene.victim.hostname]
    scene.outcome.figures["stopped replica's long requests"] = len(served)
    scene.outcome.figures["of them completed 200"] = sum(r.ok for r in served)


PAGE = Page(
    3,
    "graceful shutdown alone is not enough",
    action,
    variables={BROKEN: PLAIN_UVICORN, FIXED: PLAIN_UVICORN},
    after=after,
)
