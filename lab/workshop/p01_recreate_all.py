"""Page 01, recreate-all downtime. Broken: a new version by plain `docker compose up -d`, which
recreates every replica at once. Fixed: the rollout tool."""

from __future__ import annotations

from lab.compose_lab import wait_all_routed
from lab.workshop.actions import rollout
from lab.workshop.harness import BROKEN, Page, Scene
from zerodrop.adapters import compose


def action(scene: Scene) -> None:
    """Roll the stack to v2, the variant's way."""
    if scene.variant == BROKEN:
        scene.mark("docker compose up -d")
        compose.up(scene.cfg, extra_env={"APP_VERSION": "v2"})
        wait_all_routed(scene.client, scene.cfg, 2, timeout=120)
    else:
        rollout(scene, "v2")


PAGE = Page(1, "recreate-all downtime", action)
