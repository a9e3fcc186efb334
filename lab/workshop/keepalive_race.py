"""The keep-alive race, a measurement outside the numbered pages. Bursts of writes after idle
gaps around the app's keep-alive, on one replica. Broken: a short app keep-alive (1 s; uvicorn's
default is 5 s) under Traefik's default 90 s idle timeout. Fixed: the lab's 30 s keep-alive with
Traefik closing idle backend connections after 10 s. A measurement, not an assertion: the race
is rare on one host."""

from __future__ import annotations

import asyncio
import time

import httpx

from lab.workshop.harness import BROKEN, Page, Scene
from zerodrop.adapters.docker_sdk import container_env, get_container, replicas
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import WRITE, RequestRecord, take_exception, take_response

KEEPALIVE_CONNECTIONS = 20
# The broken variant's app keep-alive: uvicorn's default is 5 s; 1 s gives the same race five
# times as many chances a minute. Idle gaps between bursts sweep across it in 0.25 ms steps.
BROKEN_KEEPALIVE_SECONDS = 1
KEEPALIVE_GAPS = tuple(BROKEN_KEEPALIVE_SECONDS - 0.01 + 0.00025 * k for k in range(80))


async def post(client: httpx.AsyncClient, tag: dict[str, int]) -> RequestRecord:
    """One write held 50 ms (so a burst needs one backend connection per request), recorded."""
    record = RequestRecord(WRITE, time.time())
    try:
        response = await client.post("/events", params={"hold": 0.05}, json=tag)
        if take_response(record, response):
            record.event_id = str(response.json()["id"])
    except Exception as error:
        take_exception(record, error)
    record.end = time.time()
    return record


async def keepalive_bursts(scene: Scene, records: list[RequestRecord]) -> None:
    """Bursts of concurrent writes, each after an idle gap near the app's keep-alive, so that
    every backend connection Traefik holds is reused just as uvicorn may be closing it."""
    cfg = scene.cfg
    clients = [
        httpx.AsyncClient(base_url=cfg.http_url, headers={"Host": cfg.app_host}, timeout=10)
        for _ in range(KEEPALIVE_CONNECTIONS)
    ]
    try:
        for burst, gap in enumerate((0.0, *KEEPALIVE_GAPS)):
            await asyncio.sleep(gap)
            records.extend(
                await asyncio.gather(*(post(c, {"burst": burst, "n": n}) for n, c in enumerate(clients)))
            )
    finally:
        for client in clients:
            await client.aclose()


def measure(scene: Scene) -> ProbeResult:
    """The bursts instead of the probe; the figures include the keep-alive in effect."""
    cfg = scene.cfg
    app = get_container(scene.client, replicas(scene.client, cfg.project, cfg.service)[0].id)
    assert app is not None
    scene.outcome.figures["app keep-alive s"] = float(container_env(app)["APP_KEEPALIVE_SECONDS"])
    records: list[RequestRecord] = []
    started = time.time()
    asyncio.run(keepalive_bursts(scene, records))
    scene.outcome.figures["bursts"] = len(KEEPALIVE_GAPS) + 1
    options = ProbeOptions(base_url=cfg.http_url, host=cfg.app_host, long_concurrency=0, duration=120)
    return ProbeResult(options, started, time.time(), records)


PAGE = Page(
    0,
    "the keep-alive race (a measurement)",
    slug="keepalive-race",
    measure=measure,
    replicas=1,
    variables={
        BROKEN: {"APP_KEEPALIVE_SECONDS": str(BROKEN_KEEPALIVE_SECONDS), "TRAEFIK_IDLE_CONN_TIMEOUT": "90s"}
    },
)
