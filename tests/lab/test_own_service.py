"""`zerodrop` on a service that is not the lab's (examples/own-service): a stdlib shop in a
compose project of its own, with its own Traefik, two -f files and an --env-file, a drain file
instead of signals, and a router and load balancer named unlike the service. The real command,
run as a user runs it, under the probe through the shop's Traefik on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import jsonschema
import pytest

from lab.config import REPO_ROOT
from lab.example_shop import (
    EXAMPLE,
    IMAGE,
    REPLICAS,
    Shop,
    compose,
    compose_env,
    images,
)
from lab.under_load import measure_under_load
from zerodrop.adapters.compose_file import read_env_file
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.waits import wait_for

pytestmark = pytest.mark.lab


def ids(client: docker.DockerClient, shop: Shop) -> set[str]:
    """The running containers of the project."""
    return {c.id or "" for c in service_containers(client, shop.project)}


def test_own_service_rolls_to_a_new_image_under_load_with_zero_failed(docker_client, shop):
    options = shop.probe_options()
    measured = measure_under_load(
        lambda: shop.zerodrop("--image", f"{IMAGE}:v2"), options, out=lambda _: None
    )
    assert measured.value is not None and measured.value.returncode == 0, measured.value
    failures = [(r.kind, r.error) for r in measured.probe.failures]
    print(f"own service: {len(measured.probe.records)} requests, {len(failures)} failed")
    assert failures == []
    assert images(docker_client, shop) == [f"{IMAGE}:v2"] * REPLICAS
    assert "200 from the service" in measured.value.stdout
    assert "compose files still name" in measured.value.stdout, "the drift is said, with its fix"
    status = shop.zerodrop(command="status")
    assert (
        status.returncode == 1 and f"found: image drift: the compose files name {IMAGE}:v1" in status.stdout
    )
    assert status.stdout.count(f"{IMAGE}:v2 ") == REPLICAS and "Traefik routes 3 ready" in status.stdout


def test_status_of_a_whole_service_exits_0_and_recover_puts_back_a_replica_left_drained(docker_client, shop):
    """A rollout killed after draining shop-api-1 leaves its drain file: status finds it, recover
    removes it, waits until Traefik routes it again, and the service is whole (status exits 0)."""
    assert shop.zerodrop(command="status").returncode == 0
    first = sorted(service_containers(docker_client, shop.project, "api"), key=lambda c: c.name or "")[0]
    assert first.exec_run(["touch", "/tmp/drain"]).exit_code == 0
    status = shop.zerodrop(command="status")
    assert status.returncode == 1 and f"found: drained replica still running: {first.name}" in status.stdout
    done = shop.zerodrop(command="recover")
    assert done.returncode == 0, done.stdout
    assert re.search(rf"recover: back-in +kept {first.name} ", done.stdout), done.stdout
    assert first.exec_run(["test", "-e", "/tmp/drain"]).exit_code == 1
    assert shop.zerodrop(command="status").returncode == 0


def test_no_drain_contract_is_refused_and_nothing_changes(docker_client, shop, tmp_path):
    override = tmp_path / "no-contract.yml"
    override.write_text("services:\n  api:\n    labels:\n      zerodrop.drain: ''\n", encoding="utf-8")
    before = ids(docker_client, shop)
    done = shop.zerodrop("--image", f"{IMAGE}:v2", extra_files=(override,))
    assert done.returncode == 2 and "no drain contract" in done.stderr and len(done.stderr.splitlines()) == 1
    assert ids(docker_client, shop) == before


def test_no_healthcheck_is_refused_and_nothing_changes(docker_client, shop, tmp_path):
    override = tmp_path / "no-healthcheck.yml"
    override.write_text("services:\n  api:\n    healthcheck:\n      disable: true\n", encoding="utf-8")
    before = ids(docker_client, shop)
    done = shop.zerodrop("--image", f"{IMAGE}:v2", extra_files=(override,))
    assert done.returncode == 2 and "no healthcheck" in done.stderr
    assert ids(docker_client, shop) == before


def test_a_missing_image_is_refused_and_nothing_changes(docker_client, shop):
    before = ids(docker_client, shop)
    done = shop.zerodrop("--image", f"{IMAGE}:no-such-version")
    assert done.returncode == 2 and "not on this engine, and the pull failed" in done.stderr
    assert ids(docker_client, shop) == before


def test_dry_run_says_the_plan_and_changes_nothing(docker_client, shop):
    before = ids(docker_client, shop)
    done = shop.zerodrop("--image", f"{IMAGE}:v2", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "web-public@docker -> service web-backend@docker" in done.stdout and "batch 3:" in done.stdout
    assert "drain by creating /tmp/drain" in done.stdout
    assert ids(docker_client, shop) == before and images(docker_client, shop) == [f"{IMAGE}:v1"] * REPLICAS


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    """`zerodrop lint` in the example's directory, as a user runs it there."""
    argv = [sys.executable, "-m", "zerodrop", "lint", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=EXAMPLE, check=False)
    print(done.stdout, done.stderr, sep="\n")
    return done


def test_a_dry_run_fetches_nothing_and_says_whether_the_image_is_there(docker_client, shop):
    """An image the engine does not have: the dry run says a rollout would pull it, pulls nothing
    (a pull from nowhere would fail: exit 2), and changes nothing."""
    before = ids(docker_client, shop)
    done = shop.zerodrop("--image", "127.0.0.1:1/nowhere/shop:v9", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "not on this engine: a rollout would pull it first" in done.stdout
    assert ids(docker_client, shop) == before


def test_one_rollout_of_a_service_at_a_time_on_the_engine_whatever_home_runs_it(
    docker_client, shop, tmp_path
):
    """Two users (two $HOMEs, so two state folders) roll the same service on one engine: the lock
    lives on the engine, so the second is refused while the first runs (exit 2, naming the lock
    container), and the first finishes."""
    first_log = tmp_path / "first.jsonl"
    argv = [sys.executable, "-m", "zerodrop", "rollout", "api", "--image", f"{IMAGE}:v2", *shop.flags()]
    argv += ["--traefik-api", f"http://127.0.0.1:{shop.api_port}"]
    homes = [tmp_path / "alice", tmp_path / "bob"]
    env = [{**os.environ, "HOME": str(h), "XDG_STATE_HOME": ""} for h in homes]
    first = subprocess.Popen([*argv, "--log", str(first_log)], env=env[0], cwd=REPO_ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip

    def creating() -> bool:
        return first_log.is_file() and '"create"' in first_log.read_text()

    wait_for(creating, what="the first rollout's create", timeout=120, interval=0.05)
    second = subprocess.run(
        argv, env=env[1], cwd=REPO_ROOT, text=True, capture_output=True, timeout=120, check=False
    )
    out, _ = first.communicate(timeout=600)
    print(second.stderr, out, sep="\n")
    assert second.returncode == 2 and "already running on this engine" in second.stderr, second.stderr
    assert "zerodrop-lock-" in second.stderr and len(second.stderr.strip().splitlines()) == 1
    assert first.returncode == 0, out
    assert images(docker_client, shop) == [f"{IMAGE}:v2"] * REPLICAS


def test_lint_reads_the_files_as_compose_merges_them():
    """With compose.prod.yml's grace period it passes; compose.yml alone has Docker's 10 s grace,
    below drain detection (Traefik's default 2 s throttle there) + the 30 s request."""
    merged = lint("-f", "compose.yml", "-f", "compose.prod.yml", "--env-file", "shop.env")
    assert merged.returncode == 0 and "no traps found" in merged.stdout
    alone = lint("-f", "compose.yml", "--env-file", "shop.env")
    assert alone.returncode == 1
    assert "grace period 10s is below drain detection 4s + longest request 30s" in alone.stdout
    assert "(see docs/apply.md#timing)" in alone.stdout
    missing = lint("-f", "no-such.yml")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


SCHEMA = json.loads((REPO_ROOT / "docs" / "zerodrop-output.schema.json").read_text(encoding="utf-8"))


def json_result(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The result of a `--json` run: every stdout line valid against the schema, one result, last."""
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    for line in lines:
        jsonschema.validate(line, SCHEMA)
    assert [line["event"] for line in lines].count("result") == 1 and lines[-1]["event"] == "result"
    assert {"begin", "end"} <= {line["event"] for line in lines[:-1]}, "phase events as they happen"
    return dict(lines[-1])


def test_the_image_compose_resolves_is_rolled_to_then_rollback_rolls_back_all_in_json(docker_client, shop):
    """No --image: `SHOP_IMAGE=...:v2 zerodrop rollout api` rolls to what compose resolves, and
    status (with the same variable) finds no drift; rollback then goes back to v1, the image
    before, from zerodrop's history. Every line on stdout is JSON, and the result says so."""
    v2 = {"SHOP_IMAGE": f"{IMAGE}:v2"}
    result = json_result(shop.zerodrop("--json", env=v2))
    assert (result["outcome"], result["exit_code"]) == ("done", 0), result
    assert (result["from"], result["to"], result["drift"]) == (f"{IMAGE}:v1", f"{IMAGE}:v2", None)
    assert images(docker_client, shop) == [f"{IMAGE}:v2"] * REPLICAS
    status = shop.zerodrop("--json", command="status", env=v2)
    assert status.returncode == 0 and json.loads(status.stdout.splitlines()[-1])["problems"] == []
    back = json_result(shop.zerodrop("--json", command="rollback", env=v2))
    assert (back["outcome"], back["from"], back["to"]) == ("done", f"{IMAGE}:v2", f"{IMAGE}:v1"), back
    assert images(docker_client, shop) == [f"{IMAGE}:v1"] * REPLICAS


def test_a_traefik_with_no_published_api_port_is_asked_inside_its_container(
    docker_client: docker.DockerClient, shop: Shop, tmp_path: Path
) -> None:
    """The shop's Traefik recreated with its web entrypoint published and its API on no host
    port: `--traefik-api container:NAME` asks the API from inside Traefik's network namespace,
    and the rollout under load drops nothing."""
    override = tmp_path / "api-unpublished.yml"
    ports = '    ports: !override\n      - "127.0.0.1:${SHOP_HTTP_PORT}:80"\n'
    override.write_text(f"services:\n  proxy:\n{ports}", encoding="utf-8")
    compose(shop, "-f", str(override), "up", "-d", "--no-deps", "proxy")
    proxy = service_containers(docker_client, shop.project, "proxy")[0]
    published = proxy.attrs["NetworkSettings"]["Ports"]
    assert published.get("8080/tcp") is None and published.get("80/tcp"), published
    inside = f"container:{proxy.name}"
    python = read_env_file(REPO_ROOT / ".env").get("PYTHON_IMAGE", "python:3.12-slim")
    helper = {"ZERODROP_HELPER_IMAGE": python}  # offline here; pulled where a registry answers

    def ask(*args: str, command: str = "rollout") -> subprocess.CompletedProcess[str]:
        return shop.zerodrop(*args, extra_files=(override,), command=command, traefik_api=inside, env=helper)

    wait_for(
        lambda: ask(command="status").returncode == 0,
        what="the recreated Traefik to route the shop again", timeout=120, interval=1.0,
    )  # fmt: skip
    measured = measure_under_load(
        lambda: ask("--image", f"{IMAGE}:v2"), shop.probe_options(), out=lambda _: None
    )
    assert measured.value is not None and measured.value.returncode == 0, measured.value
    failures = [(r.kind, r.error) for r in measured.probe.failures]
    print(f"API inside its container: {len(measured.probe.records)} requests, {len(failures)} failed")
    assert failures == [] and images(docker_client, shop) == [f"{IMAGE}:v2"] * REPLICAS
    helpers = docker_client.containers.list(all=True, filters={"label": "zerodrop.helper"})
    assert helpers == [], "the helper is removed when zerodrop exits"


def test_the_deploy_script_rolls_the_example_and_fails_the_deploy_on_a_refusal(docker_client, shop):
    """examples/deploy.sh as a pipeline runs it: lint, roll, exit 0 when done; an image that cannot
    be had fails the deploy (exit 2) and changes nothing."""
    path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"  # this venv's zerodrop
    flags = ["-p", shop.project, "--env-file", str(shop.env_file)]

    def deploy(image: str) -> subprocess.CompletedProcess[str]:
        env = compose_env(PATH=path, SHOP_IMAGE=image)
        done = subprocess.run(
            [str(EXAMPLE.parent / "deploy.sh"), *flags], env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        print(done.stdout, done.stderr, sep="\n")
        return done

    done = deploy(f"{IMAGE}:v2")
    assert done.returncode == 0 and "deploy: done: every replica runs" in done.stderr
    assert images(docker_client, shop) == [f"{IMAGE}:v2"] * REPLICAS
    before = ids(docker_client, shop)
    refused = deploy("127.0.0.1:1/nowhere/shop:v9")
    assert refused.returncode == 2 and "deploy: FAILED: refused, nothing changed" in refused.stderr
    assert ids(docker_client, shop) == before
