"""The stop of a drained replica on Docker (zerodrop.adapters.docker_platform.DockerPlatform.stop) against a
scripted container: SIGTERMs counted as sent only when sent, SIGKILL only when the grace runs out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import requests

from lab.config import load_config
from lab.lab_app import LabApp
from zerodrop.adapters import docker_sdk
from zerodrop.adapters.docker_platform import DockerPlatform
from zerodrop.errors import PlatformUnavailable


@dataclass
class ScriptedContainer:
    """Answers kill and wait as the script says: an exception to raise, or a result."""

    kill_script: list[Exception | None] = field(default_factory=list)
    wait_script: list[Exception | dict[str, Any]] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    name: str = "app-1"
    status: str = "running"
    attrs: dict[str, Any] = field(default_factory=dict)

    def kill(self, signal: str) -> None:
        outcome = self.kill_script.pop(0) if self.kill_script else None
        if outcome is not None:
            raise outcome
        self.signals.append(signal)

    def wait(self, timeout: float) -> dict[str, Any]:
        outcome = self.wait_script.pop(0) if self.wait_script else {"StatusCode": 0}
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def platform_with(monkeypatch):
    def make(container: ScriptedContainer) -> DockerPlatform:
        monkeypatch.setattr(docker_sdk, "get_container", lambda _client, _id: container)
        return DockerPlatform(client=None, cfg=load_config(), control=LabApp())  # type: ignore[arg-type]

    return make


def engine_error(status: int, message: str) -> docker.errors.APIError:
    """An error answer of the engine's API with this HTTP status."""
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(message, response=response)


def refused() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError("('Connection aborted.', ConnectionRefusedError(111))")


@pytest.mark.parametrize("failure", ["refused", "engine-500"])
def test_a_sigterm_that_failed_is_sent_again_on_the_retry(platform_with, failure):
    """The first SIGTERM's call fails (engine unreachable, or a 500 from the engine, which is not
    "it has exited already", 409): the retry must send both SIGTERMs, so the app stops gracefully
    and runs its shutdown work; no SIGKILL."""
    error = refused() if failure == "refused" else engine_error(500, "boom")
    container = ScriptedContainer(kill_script=[error])
    platform = platform_with(container)
    with pytest.raises(PlatformUnavailable):
        platform.stop("id1", 30)
    assert platform.stop("id1", 30) == 0
    assert container.signals == ["SIGTERM", "SIGTERM"]


def test_a_connection_error_while_waiting_is_not_the_grace_running_out(platform_with):
    """The engine drops the wait's connection at once: that is retried, not answered by SIGKILL."""
    container = ScriptedContainer(wait_script=[refused(), {"StatusCode": 0}])
    platform = platform_with(container)
    with pytest.raises(PlatformUnavailable):
        platform.stop("id1", 30)
    assert platform.stop("id1", 30) == 0
    assert container.signals == ["SIGTERM", "SIGTERM"]  # no third SIGTERM, no SIGKILL


def test_a_retried_stop_waits_only_what_is_left_of_the_grace(platform_with, monkeypatch):
    """The grace counts from the first SIGTERM, as docker stop's does: a retry 20 s later waits
    the 10 s that are left, not a fresh 30 s."""
    clock = [1000.0]
    monkeypatch.setattr("zerodrop.adapters.docker_platform.time.monotonic", lambda: clock[0])
    seen: list[float] = []

    def wait(timeout: float) -> dict[str, Any]:
        seen.append(timeout)
        raise refused()

    container = ScriptedContainer()
    container.wait = wait  # type: ignore[method-assign]
    platform = platform_with(container)
    with pytest.raises(PlatformUnavailable):
        platform.stop("id1", 30)
    clock[0] += 20
    with pytest.raises(PlatformUnavailable):
        platform.stop("id1", 30)
    assert seen == [30, 10]


def test_the_grace_running_out_is_answered_by_sigkill(platform_with):
    timed_out = requests.exceptions.ConnectionError("UnixHTTPConnectionPool: Read timed out.")
    container = ScriptedContainer(wait_script=[timed_out, {"StatusCode": 137}])
    container_wait = container.wait

    def slow_wait(timeout: float) -> dict[str, Any]:
        if not container.signals[2:]:  # before the SIGKILL the wait runs out its whole timeout
            time.sleep(timeout)
        return container_wait(timeout)

    container.wait = slow_wait  # type: ignore[method-assign]
    assert platform_with(container).stop("id1", 0.05) == 137
    assert container.signals == ["SIGTERM", "SIGTERM", "SIGKILL"]


def test_a_container_that_exited_already_counts_its_sigterm_as_done(platform_with):
    gone = engine_error(409, "is not running")
    container = ScriptedContainer(kill_script=[gone, gone], wait_script=[{"StatusCode": 0}])
    assert platform_with(container).stop("id1", 30) == 0
    assert container.signals == []


def test_a_stop_sends_the_containers_own_stop_signal(monkeypatch):
    """nginx's graceful shutdown is SIGQUIT (its SIGTERM cuts requests in flight): a service with
    stop_signal: SIGQUIT is stopped with SIGQUIT, as `docker stop` would stop it."""
    from zerodrop.adapters.contract_app import ContractApp
    from zerodrop.rollout.contract import DrainContract

    container = ScriptedContainer(attrs={"Config": {"StopSignal": "SIGQUIT"}})
    monkeypatch.setattr(docker_sdk, "get_container", lambda _client, _id: container)
    control = ContractApp(None, "site", DrainContract("file", path="/tmp/drain"), override_dir=Path("."))  # type: ignore[arg-type]
    platform = DockerPlatform(client=None, cfg=load_config(), control=control)  # type: ignore[arg-type]
    assert platform.stop("id1", 30) == 0
    assert container.signals == ["SIGQUIT"]
