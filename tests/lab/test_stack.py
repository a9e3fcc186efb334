"""The lab stack, through Traefik's published port on 127.0.0.1 only."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lab.docker_api import exit_code, get_container, read_directory, replica_stats, replicas
from lab.stack import get_through_traefik
from lab.traefik_api import routed_ips
from lab.waits import wait_for

pytestmark = pytest.mark.lab


def test_routed_by_host_header_and_404_without_it(lab_cfg):
    assert get_through_traefik(lab_cfg, "/health").status_code == 200
    assert httpx.get(f"{lab_cfg.http_url}/health", timeout=10).status_code == 404
    wrong = httpx.get(f"{lab_cfg.http_url}/health", headers={"Host": "other.localhost"}, timeout=10)
    assert wrong.status_code == 404


def test_traefik_lists_exactly_the_replicas(docker_client, lab_cfg):
    running = replicas(docker_client, lab_cfg.project, lab_cfg.service)
    assert len(running) == 2
    assert routed_ips(lab_cfg.api_url, lab_cfg.traefik_service) == {ip for r in running for ip in r.ips}


def test_both_replicas_answer(docker_client, lab_cfg):
    hostnames = {r.hostname for r in replicas(docker_client, lab_cfg.project, lab_cfg.service)}
    answered = {get_through_traefik(lab_cfg, "/health").headers["x-app-replica"] for _ in range(10)}
    assert answered == hostnames


def test_a_15_second_request_completes_through_traefik(lab_cfg):
    response = get_through_traefik(lab_cfg, "/", timeout=40)
    assert response.status_code == 200
    body = response.json()
    assert body["slept"] == 15 and body["version"] == response.headers["x-app-version"]
    assert response.elapsed.total_seconds() >= 15


def test_docker_stop_lets_the_inflight_request_finish_and_keeps_every_write(
    docker_client, restore_stack, write_ledger
):
    """1. writes are acknowledged by both replicas 2. a 15 s request starts 3. the replica serving
    it gets `docker stop` 4. the request still answers 200 with its full body, the replica exits 0,
    and every write it acknowledged is in its data file on the volume."""
    cfg = restore_stack
    acked: dict[str, list[str]] = {}
    for n in range(20):
        answer = httpx.post(
            f"{cfg.http_url}/events", json={"n": n}, headers={"Host": cfg.app_host}, timeout=10
        )
        assert answer.status_code == 200
        acked.setdefault(answer.json()["replica"], []).append(answer.json()["id"])
    assert len(acked) == 2
    write_ledger.update(i for ids in acked.values() for i in ids)

    running = replicas(docker_client, cfg.project, cfg.service)
    containers = {r.hostname: get_container(docker_client, r.id) for r in running}
    with ThreadPoolExecutor(1) as pool:
        long_request = pool.submit(get_through_traefik, cfg, "/", 40)

        def serving_replica() -> str | None:
            busy = [h for h, c in containers.items() if c is not None and replica_stats(c)["inflight"] > 0]
            return busy[0] if len(busy) == 1 else None

        target = wait_for(serving_replica, what="the replica serving the 15 s request", timeout=10)
        victim = containers[target]
        assert victim is not None
        victim.stop(timeout=40)
        response = long_request.result(timeout=40)

    assert response.status_code == 200
    assert response.json()["replica"] == target and response.json()["slept"] == 15
    assert exit_code(victim) == 0
    files = read_directory(victim, "/data")
    persisted = [json.loads(line)["id"] for line in files[f"events-{target}.jsonl"].decode().splitlines()]
    assert set(acked[target]) <= set(persisted), "an acknowledged write was lost"
