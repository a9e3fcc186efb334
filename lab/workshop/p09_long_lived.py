"""Page 09, long-lived connections. Every variant replaces both replicas by v2 while the probe
holds 4 SSE streams and 2 WebSockets (clients that reconnect and resume as the protocols allow),
on an app that stops accepting at SIGTERM (DRAIN_SECONDS=0) and cuts what is still open when its
graceful shutdown times out (GRACEFUL_TIMEOUT). Broken: scale up, `docker stop` the old replicas.
Recipe: scale up, drain them (SIGUSR1), `sleep 10`, `docker stop`: Traefik keeps a removed
server's open connections, so their streams are still there at the stop. Fixed: the rollout tool,
which tells a replica to end its streams (SIGHUP: a goodbye, then the clients resume elsewhere)
once Traefik's API shows it out."""

from __future__ import annotations

import time

from docker.models.containers import Container

from lab.workshop.actions import rollout
from lab.workshop.harness import BROKEN, FIXED, RECIPE, Page, Scene
from lab.workshop.p02_manual_recipe import replace_by_hand
from zerodrop.adapters import docker_sdk
from zerodrop.measure.probe_data import ProbeResult

PLAIN_UVICORN = {"DRAIN_SECONDS": "0"}
RECIPE_SLEEP = 10  # seconds: the recipe's `sleep 10` between drain and stop


def action(scene: Scene) -> None:
    """Replace both replicas by v2, the variant's way."""
    if scene.variant == FIXED:
        rollout(scene, "v2")
    elif scene.variant == RECIPE:
        replace_by_hand(scene, before_stop=lambda old: drain_and_sleep(scene, old))
    else:
        replace_by_hand(scene, before_stop=lambda _: None)


def drain_and_sleep(scene: Scene, old: list[Container]) -> None:
    """The recipe's drain: SIGUSR1 to every old replica, then its fixed `sleep 10`."""
    scene.mark("SIGUSR1, sleep 10")
    for container in old:
        docker_sdk.send_signal(container, "SIGUSR1")
    time.sleep(RECIPE_SLEEP)  # the recipe under test is a fixed sleep: this is what it does


def after(scene: Scene, probe: ProbeResult) -> None:
    """The streams' figures: handed over, dropped, the longest silence."""
    report = probe.streams_report()
    if report is None:
        return
    scene.outcome.figures["streams handed over"] = report.handovers
    scene.outcome.figures["streams dropped"] = sum(report.drops.values())
    scene.outcome.figures["longest silence s"] = round(report.longest_silence, 2)


PAGE = Page(
    9,
    "long-lived connections",
    action,
    variables={v: PLAIN_UVICORN for v in (BROKEN, RECIPE, FIXED)},
    after=after,
    variants=(BROKEN, RECIPE, FIXED),
    streams=True,
)
