"""The real stack, once per test session: a private compose project on free loopback ports,
always torn down, and checked to leave no container behind. Every write acknowledged on it goes
into a ledger, and before the teardown every replica is stopped gracefully and each of those
writes must be in the data files on the volume."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from lab import compose_lab
from lab.config import load_config
from lab.example_shop import Shop, build_images, running_shop
from tests.unit.serving import free_port
from zerodrop.adapters.docker_sdk import connect
from zerodrop.errors import DockerUnavailable
from zerodrop.measure.writes import final_write_check
from zerodrop.target import ComposeTarget


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        return connect()
    except DockerUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def write_ledger() -> set[str]:
    """Ids of every write acknowledged on the session's stack (tests add to it)."""
    return set()


@pytest.fixture(scope="session")
def lab_cfg(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory, write_ledger: set[str]
) -> Iterator[ComposeTarget]:
    """A running stack of 2 replicas in a compose project of its own; at the end the write
    verdict for the ledger, then the stack is removed."""
    scratch = tmp_path_factory.mktemp("lab")
    cfg = load_config().with_overrides(
        project=f"zdtest-{uuid.uuid4().hex[:8]}",
        http_port=free_port(),
        api_port=free_port(),
        replicas=2,
        state_dir=scratch / "state",
        out_dir=scratch / "out",
    )
    try:
        compose_lab.lab_up(docker_client, cfg)
        yield cfg
        final = final_write_check(docker_client, cfg.project, cfg.service, write_ledger)
        print(f"\nsession stack, final write check: {final.line()}")
        assert final.missing == [], f"acknowledged writes lost: {final.missing[:10]}"
    finally:
        compose_lab.lab_down(cfg)
        left = compose_lab.leftovers(docker_client, cfg.project)
        assert not left, f"teardown left containers behind: {left}"


@pytest.fixture
def restore_stack(docker_client: docker.DockerClient, lab_cfg: ComposeTarget) -> Iterator[ComposeTarget]:
    """For tests that stop replicas: bring the stack back to N routed replicas afterwards."""
    yield lab_cfg
    compose_lab.lab_up(docker_client, lab_cfg, build=False)


@pytest.fixture(scope="session")
def shop_images() -> None:
    """The example shop's images, v1 and v2 (examples/own-service)."""
    build_images()


@pytest.fixture
def shop(shop_images: None, tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Shop]:
    """A fresh project of the example shop at v1, every replica routed; removed afterwards."""
    with running_shop(docker_client, tmp_path) as running:
        yield running
