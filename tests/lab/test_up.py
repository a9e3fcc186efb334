"""`zerodrop up` on real stacks, run as a user runs it: on the example shop (a project not written
for it) with its image variable changed, and on the whole-project example (Traefik, a db with a
volume, api, web after api, a worker) with every image changed, under the probe through Traefik
on 127.0.0.1; then a failure in the second routed service, with and without --atomic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from lab.example_shop import IMAGE, REPLICAS, compose_env, images
from lab.example_whole import BROKEN, WholeProject, build_broken_image, images_at, running_whole_project
from lab.under_load import UnderLoad, measure_under_load
from zerodrop.adapters.docker_sdk import service_containers

pytestmark = pytest.mark.lab
SETTLE = 50  # short answers before and after the action, per probe (two probes: one per routed service)


@pytest.fixture
def whole(shop_images: None, tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[WholeProject]:
    with running_whole_project(docker_client, tmp_path) as running:
        yield running


def ids(client: docker.DockerClient, project: str, service: str | None = None) -> set[str]:
    """The running containers of a project (or of one of its services)."""
    return {c.id or "" for c in service_containers(client, project, service)}


def start_orphan(client: docker.DockerClient, project: str) -> str:
    """A container of the project whose service ("legacy") no compose file has: compose's orphan.
    It exits 0 on SIGTERM, so a stop with its grace ends it without a kill. Its name."""
    container = client.containers.run(
        f"{IMAGE}:v1", ["python3", "-c", "import signal, sys; signal.signal(signal.SIGTERM, lambda *_: "
                        "sys.exit(0)); signal.pause()"], detach=True, name=f"{project}-legacy-1",
        labels={"com.docker.compose.project": project, "com.docker.compose.service": "legacy",
                "com.docker.compose.oneoff": "False"},
    )  # fmt: skip
    return container.name or ""


def failures(measured: UnderLoad[object]) -> list[tuple[str, str | None]]:
    """The probe's failed requests, by kind and error."""
    return [(r.kind, r.error) for r in measured.probe.failures]


def test_up_on_a_project_not_written_for_it_rolls_the_changed_service_and_touches_nothing_else(
    docker_client, shop
):
    """The example shop with SHOP_IMAGE changed: --dry-run says roll api, proxy unchanged, and
    changes nothing; then `zerodrop up -p P -f A -f B` rolls api under load with 0 failed, the
    proxy keeps its container, and an `up` right after has nothing to do."""
    v2 = compose_env(SHOP_IMAGE=f"{IMAGE}:v2")
    before, proxy = ids(docker_client, shop.project), ids(docker_client, shop.project, "proxy")
    planned = shop.zerodrop("--dry-run", command="up", service=None, env=v2)
    assert planned.returncode == 0, planned.stderr
    assert "up: api: roll (routed by Traefik, drain file:/tmp/drain)" in planned.stdout
    assert "up: proxy: unchanged" in planned.stdout
    assert ids(docker_client, shop.project) == before, "a dry run changes nothing"
    measured = measure_under_load(
        lambda: shop.zerodrop(command="up", service=None, env=v2), shop.probe_options(), out=lambda _: None
    )
    assert measured.value is not None and measured.value.returncode == 0, measured.value
    assert failures(measured) == []
    print(f"up on the shop: {len(measured.probe.records)} requests, 0 failed")
    assert images(docker_client, shop) == [f"{IMAGE}:v2"] * REPLICAS
    assert ids(docker_client, shop.project, "proxy") == proxy, "the unchanged proxy keeps its container"
    again = shop.zerodrop(command="up", service=None, env=v2)
    assert again.returncode == 0 and "nothing to do" in again.stdout, "the rollout kept compose's own hash"


def test_every_image_changed_refuses_the_db_then_rolls_both_routed_services_under_load(docker_client, whole):
    """Every image at v2, and an orphan: `up` refuses (the db is one replica owning a volume) and
    changes nothing; `up --recreate-unrollable --remove-orphans` rolls api then web under two
    probes with 0 failed, recreates the worker and the db, leaves Traefik's container alone, and
    then stops and removes the orphan."""
    v2 = images_at("v2")
    orphan = start_orphan(docker_client, whole.project)
    before, proxy = ids(docker_client, whole.project), ids(docker_client, whole.project, "proxy")
    refused = whole.zerodrop_up("--remove-orphans", env=v2)
    assert refused.returncode == 2 and "db: refuse (one replica owning named volume(s) data" in refused.stderr
    assert f"up: orphan: {orphan} (its service is no longer in the compose files)" in refused.stdout
    assert ids(docker_client, whole.project) == before, "a refused plan changes nothing"

    def up() -> object:
        return measure_under_load(
            lambda: whole.zerodrop_up("--recreate-unrollable", "--remove-orphans", env=v2),
            whole.probe_options("api"),
            settle=SETTLE, out=lambda _: None,
        )  # fmt: skip

    outer = measure_under_load(up, whole.probe_options("web"), settle=SETTLE, out=lambda _: None)
    inner = outer.value
    assert isinstance(inner, UnderLoad) and inner.value is not None
    done = inner.value
    assert done.returncode == 0, done.stdout
    assert failures(outer) == [] and failures(inner) == [], "no request to web or api failed"
    print(f"up: web {len(outer.probe.records)} requests, api {len(inner.probe.records)}, 0 failed")
    assert done.stdout.index("up: api: roll done") < done.stdout.index("up: web: roll done")
    images = {name: image for name, (_, image) in whole.containers(docker_client).items()}
    assert set(images.values()) - {f"{IMAGE}:v2"} == {images[n] for n in images if "proxy" in n}
    assert ids(docker_client, whole.project, "proxy") == proxy
    assert not ids(docker_client, whole.project, "worker") & before, "the worker was recreated"
    assert f"up: orphans removed: {orphan}" in done.stdout
    assert done.stdout.index("up: web: roll done") < done.stdout.index(f"up: orphan {orphan}: stopping")
    assert not [c for c in docker_client.containers.list(all=True) if c.name == orphan]
    assert whole.zerodrop_up("--dry-run", env=v2).stdout.count(": unchanged (") == 5


def images_of(client: docker.DockerClient, whole: WholeProject, service: str) -> set[str]:
    """The images a service's running containers were created from."""
    return {image for name, (_, image) in whole.containers(client).items() if f"-{service}-" in name}


def test_a_failure_in_the_second_routed_service_stops_the_plan_and_atomic_rolls_the_first_back(
    docker_client, whole, tmp_path
):
    """web to an image whose replicas exit as they start, after api (web depends on it). First
    api v1 -> v2: api is rolled, web's rollout fails and undoes its batch, the plan stops with
    web's exit status, api stays on v2. Then api v2 -> v1 with --atomic: api is rolled, web fails
    again, and api is rolled back to v2, where this `up` found it. An orphan stays where the plan
    did not finish, even with --remove-orphans."""
    build_broken_image(tmp_path / "broken")
    broken = {**images_at("v1"), "WEB_IMAGE": BROKEN}
    orphan = start_orphan(docker_client, whole.project)
    try:
        done = whole.zerodrop_up(
            "--timeout", "10s", "--remove-orphans", env={**broken, **images_at("v2", "API_IMAGE")}
        )
        assert "up: the orphans stay: the plan did not finish" in done.stdout
        assert docker_client.containers.get(orphan).status == "running"
    finally:  # compose's own `down --remove-orphans` leaves a container it did not create
        docker_client.containers.get(orphan).remove(force=True)
    assert done.returncode == 1, done.stdout
    assert "up: api: roll done" in done.stdout and "up: failed: web (exit 1)" in done.stdout
    assert images_of(docker_client, whole, "web") == {f"{IMAGE}:v1"}, "web's own rollout undid its batch"
    assert images_of(docker_client, whole, "api") == {f"{IMAGE}:v2"}, "what is done stays done"
    done = whole.zerodrop_up("--timeout", "10s", "--atomic", env=broken)
    assert done.returncode == 1, done.stdout
    assert "up: api: roll done" in done.stdout and "up: rolled back: api" in done.stdout
    assert images_of(docker_client, whole, "web") == {f"{IMAGE}:v1"}
    assert images_of(docker_client, whole, "api") == {f"{IMAGE}:v2"}, "--atomic put api back"
