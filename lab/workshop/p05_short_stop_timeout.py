"""Page 05, stop timeout shorter than the request. A drained replica still serving a fresh 15 s
request is stopped with the container's own timeout. Broken: Docker's default 10 s
(STOP_GRACE_PERIOD=10s). Fixed: the lab's 30 s."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from docker.models.containers import Container

from lab.workshop.actions import drain_and_confirm, stop_all
from lab.workshop.harness import BROKEN, FIXED, Page, Scene
from zerodrop.adapters.docker_sdk import get_container, replicas
from zerodrop.adapters.in_container import replica_stats
from zerodrop.adapters.traefik_api import get_through_traefik
from zerodrop.errors import WaitTimeout
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import LONG, RequestRecord, take_exception, take_response
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

PIN_ATTEMPTS = 20


def pin_fresh_long_request(
    cfg: ComposeTarget, container: Container, pool: ThreadPoolExecutor
) -> list[RequestRecord]:
    """Send 15 s requests through Traefik, one at a time, until one has just started on the given
    replica (its slow_started count goes up). Returns records that fill in when they end."""
    records: list[RequestRecord] = []

    def send(record: RequestRecord) -> None:
        try:
            take_response(record, get_through_traefik(cfg, "/", timeout=60))
        except Exception as error:
            take_exception(record, error)
        record.end = time.time()

    def started() -> int:
        return int(replica_stats(container)["slow_started"])

    def rose_above(floor: int) -> Callable[[], bool]:
        return lambda: started() > floor

    for _ in range(PIN_ATTEMPTS):
        before = started()
        record = RequestRecord(LONG, time.time())
        records.append(record)
        pool.submit(send, record)
        try:
            wait_for(rose_above(before), what="a fresh long request", timeout=1.0, interval=0.1)
            return records
        except WaitTimeout:
            continue
    raise WaitTimeout(f"no long request landed on the replica in {PIN_ATTEMPTS} tries")


def action(scene: Scene) -> None:
    """Pin a fresh 15 s request on the first replica, drain it out of Traefik, `docker stop` it."""
    victim = scene.victim = replicas(scene.client, scene.cfg.project, scene.cfg.service)[0]
    container = get_container(scene.client, victim.id)
    assert container is not None
    with ThreadPoolExecutor(PIN_ATTEMPTS) as pool:
        scene.extra_records.extend(pin_fresh_long_request(scene.cfg, container, pool))
        drain_and_confirm(scene, victim)
        scene.mark("docker stop")
        scene.outcome.exit_codes = stop_all([container], timeout=None)


def after(scene: Scene, probe: ProbeResult) -> None:
    """Count the pinned requests with the probe's, and the long requests cut."""
    probe.records.extend(scene.extra_records)
    scene.outcome.figures["long requests cut"] = sum(1 for r in probe.failures if r.kind == LONG)


PAGE = Page(
    5,
    "stop timeout shorter than the request",
    action,
    variables={BROKEN: {"STOP_GRACE_PERIOD": "10s"}, FIXED: {"STOP_GRACE_PERIOD": "30s"}},
    after=after,
)
