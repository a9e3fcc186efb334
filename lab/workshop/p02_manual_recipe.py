"""Page 02, the manual recipe. Both variants run an app that stops accepting at SIGTERM (uvicorn's
own shutdown, DRAIN_SECONDS=0). Broken: scale up with --no-recreate, `docker stop -t 30` the old
replicas, remove them, scale back. Fixed: the rollout tool on the same app (it drains first)."""

from __future__ import annotations

from collections.abc import Callable

from docker.models.containers import Container

from lab.compose_lab import wait_all_routed
from lab.workshop.actions import right_after_a_healthcheck, rollout, stop_all
from lab.workshop.harness import BROKEN, FIXED, Page, Scene
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import get_container, replicas

PLAIN_UVICORN = {"DRAIN_SECONDS": "0"}


def action(scene: Scene) -> None:
    """Replace both replicas by v2, the variant's way."""
    if scene.variant == FIXED:
        rollout(scene, "v2")
        return
    replace_by_hand(scene, before_stop=lambda old: right_after_a_healthcheck(old[0]))


def replace_by_hand(scene: Scene, *, before_stop: Callable[[list[Container]], None]) -> None:
    """The manual recipe: scale up with the new version, wait until the new replicas are routed,
    `before_stop(the old replicas)`, `docker stop -t 30` the old ones, remove them, scale back."""
    client, cfg = scene.client, scene.cfg
    old = replicas(client, cfg.project, cfg.service)
    scene.mark("compose up --scale 4")
    compose.scale(cfg, 4, extra_env={"APP_VERSION": "v2"})
    wait_all_routed(client, cfg, 4, timeout=120)  # fair to the recipe: the new ones are routed
    containers = [c for r in old if (c := get_container(client, r.id)) is not None]
    before_stop(containers)
    scene.mark("docker stop -t 30")
    scene.outcome.exit_codes = stop_all(containers, timeout=30)
    scene.mark("rm, compose up --scale 2")
    for container in containers:  # the recipe's `docker container prune -f`, this project only
        container.remove()
    compose.scale(cfg, 2, extra_env={"APP_VERSION": "v2"})


PAGE = Page(2, "the manual recipe", action, variables={BROKEN: PLAIN_UVICORN, FIXED: PLAIN_UVICORN})
