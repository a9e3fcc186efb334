"""The real stack, once per test session: a private compose project on free loopback ports,
always torn down, and checked to leave no container behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest

from lab import stack
from lab.config import LabConfig, load_config
from lab.docker_api import DockerUnavailable, connect
from tests.unit.serving import free_port


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        return connect()
    except DockerUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def lab_cfg(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabConfig]:
    """A running stack of 2 replicas in a compose project of its own; removed at the end."""
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
        stack.lab_up(docker_client, cfg)
        yield cfg
    finally:
        stack.lab_down(cfg)
        left = stack.leftovers(docker_client, cfg.project)
        assert not left, f"teardown left containers behind: {left}"


@pytest.fixture
def restore_stack(docker_client: docker.DockerClient, lab_cfg: LabConfig) -> Iterator[LabConfig]:
    """For tests that stop replicas: bring the stack back to N routed replicas afterwards."""
    yield lab_cfg
    stack.lab_up(docker_client, lab_cfg, build=False)
