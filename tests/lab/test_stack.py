"""The lab stack, through Traefik's published port on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import docker
import httpx
import pytest

from zerodrop.adapters.docker_sdk import exit_code, get_container, replicas, service_containers
from zerodrop.adapters.in_container import read_directory, replica_stats
from zerodrop.adapters.traefik_api import get_through_traefik, routed_ips
from zerodrop.waits import wait_for

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


def test_clean_lab_removes_leftover_test_stacks_and_nothing_else(docker_client, lab_cfg):
    """1. a leftover project (a created container, its network and volume) and a project to keep
    exist beside the session's stack 2. the cleanup, told both projects' prefixes and to keep the
    second 3. the leftover is gone, the kept project and the session's stack are untouched.
    The test names its own prefixes: the real ones would also sweep the stacks of any other test
    session on this engine (which is what `make clean-lab` is for, when no tests run)."""
    import uuid

    from lab.cleanup import remove_leftovers
    from zerodrop.adapters.docker_sdk import PROJECT_LABEL

    tag = uuid.uuid4().hex[:6]
    made = {}
    for project in (f"zdws-leftover-{tag}", f"zdkeep-{tag}"):
        labels = {PROJECT_LABEL: project}
        network = docker_client.networks.create(f"{project}_lab", labels=labels)
        volume = docker_client.volumes.create(f"{project}_data", labels=labels)
        container = docker_client.containers.create(
            lab_cfg.image_of("v1"), ["python", "-c", "pass"], labels=labels, network=network.name,
            volumes={volume.name: {"bind": "/data", "mode": "rw"}},
        )  # fmt: skip
        made[project] = (container, network, volume)
    session = {c.id for c in service_containers(docker_client, lab_cfg.project)}
    try:
        prefixes = (f"zdws-leftover-{tag}", f"zdkeep-{tag}")
        done = remove_leftovers(docker_client, prefixes=prefixes, keep={f"zdkeep-{tag}", lab_cfg.project})
        print(done.line(), done.skipped)
        assert f"zdws-leftover-{tag}" in done.projects and f"zdkeep-{tag}" not in done.projects
        assert lab_cfg.project not in done.projects and done.removed["containers"] == 1
        container, network, volume = made[f"zdws-leftover-{tag}"]
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(container.id)
        with pytest.raises(docker.errors.NotFound):
            docker_client.networks.get(network.id)
        with pytest.raises(docker.errors.NotFound):
            docker_client.volumes.get(volume.id)
        kept = made[f"zdkeep-{tag}"]
        assert docker_client.containers.get(kept[0].id) and docker_client.networks.get(kept[1].id)
        assert {c.id for c in service_containers(docker_client, lab_cfg.project)} == session
        assert docker_client.images.get(lab_cfg.image_of("v1")), "an image the session labels was removed"
    finally:
        container, network, volume = made[f"zdkeep-{tag}"]
        container.remove(force=True)
        network.remove()
        volume.remove()


def test_the_offline_images_record_that_there_is_no_registry_and_every_image_script_reads_it(tmp_path):
    """`make images-offline` on a host with no registry names the offline images and records
    ZERODROP_REGISTRY=no in the env file; the script every Debian-based image starts from
    (the Swarm node's, the conformance matrix's) then answers the debootstrapped base, not
    debian:trixie-slim, which no registry would serve. The images exist already here, so the
    scripts only look."""
    import subprocess

    from lab.config import REPO_ROOT

    env_file = tmp_path / "offline.env"
    env = {**os.environ, "ENV_FILE": str(env_file)}
    subprocess.run(
        ["bash", "scripts/build-offline-images.sh"], cwd=REPO_ROOT, env=env, check=True, capture_output=True
    )
    written = env_file.read_text()
    assert "ZERODROP_REGISTRY=no" in written and "PYTHON_IMAGE=" in written and "TRAEFIK_IMAGE=" in written
    base = (
        subprocess.run(
            ["bash", "scripts/build-debian-base.sh"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert base == "zerodrop/debian-base:trixie", base
