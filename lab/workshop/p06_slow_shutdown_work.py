"""Page 06, shutdown work longer than the grace period. Each replica needs 45 s to persist its
buffered writes at shutdown. Broken: a 30 s grace period, so SIGKILL lands first (exit 137).
Fixed: 90 s (longest request 15 s + drain 5 s + shutdown work 45 s = 65 s, plus margin)."""

from __future__ import annotations

from lab.workshop.actions import stop_all
from lab.workshop.harness import BROKEN, FIXED, Page, Scene
from zerodrop.adapters.docker_sdk import get_container, replicas
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import WRITE


def action(scene: Scene) -> None:
    """`docker stop` the first replica with its own grace period."""
    victim = scene.victim = replicas(scene.client, scene.cfg.project, scene.cfg.service)[0]
    container = get_container(scene.client, victim.id)
    assert container is not None
    scene.mark("docker stop")
    scene.outcome.exit_codes = stop_all([container], timeout=None)


def after(scene: Scene, probe: ProbeResult) -> None:
    """How many writes the stopped replica acknowledged (the broken variant loses all of them)."""
    assert scene.victim is not None
    mine = [r for r in probe.records if r.kind == WRITE and r.ok and r.replica == scene.victim.hostname]
    scene.outcome.figures["writes acknowledged by the stopped replica"] = len(mine)


PAGE = Page(
    6,
    "shutdown work longer than the grace period",
    action,
    variables={
        BROKEN: {"SHUTDOWN_WORK_SECONDS": "45", "STOP_GRACE_PERIOD": "30s"},
        FIXED: {"SHUTDOWN_WORK_SECONDS": "45", "STOP_GRACE_PERIOD": "90s"},
    },
    after=after,
    # Broken: a final graceful stop of the other replica would be SIGKILLed by the same short
    # grace period and lose its writes too; count only what the stopped replica lost.
    final_writes=lambda variant: variant == FIXED,
)
