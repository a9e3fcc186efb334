"""Page 04, slow start without readiness. A third replica that takes 8 s to initialise joins.
Broken: its healthcheck is off (an override file), so Traefik routes it as soon as it runs.
Fixed: the readiness healthcheck gates routing."""

from __future__ import annotations

from lab.compose_lab import wait_all_routed
from lab.workshop.harness import BROKEN, OVERRIDES, Page, Scene
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import get_container, replicas
from zerodrop.adapters.in_container import replica_stats
from zerodrop.errors import ReplicaUnreachable
from zerodrop.waits import wait_for


def action(scene: Scene) -> None:
    """Add a replica that initialises for 8 s, and wait until it is ready and routed."""
    client, cfg = scene.client, scene.cfg
    before = {r.id for r in replicas(client, cfg.project, cfg.service)}
    scene.mark("compose up --scale 3")
    compose.scale(cfg, 3, extra_env={"STARTUP_DELAY": "8"})
    new = [r for r in replicas(client, cfg.project, cfg.service) if r.id not in before]
    container = get_container(client, new[0].id)
    assert container is not None

    def ready() -> bool:
        try:
            return bool(replica_stats(container)["ready"])
        except ReplicaUnreachable:
            return False

    wait_for(ready, what="the slow replica to finish initialising", timeout=60, interval=0.5)
    wait_all_routed(client, cfg, 3, timeout=60)


PAGE = Page(
    4, "slow start without readiness", action, overrides={BROKEN: OVERRIDES / "04-no-healthcheck.yml"}
)
