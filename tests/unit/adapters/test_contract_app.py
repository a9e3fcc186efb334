"""ContractApp, the app side of any service, on a recording stand-in for a docker container: what
each drain contract sends, what a drain file looks like, and the override file naming an image."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from docker.errors import NotFound
from docker.models.containers import Container

from zerodrop.adapters.contract_app import ContractApp
from zerodrop.model import Release
from zerodrop.rollout.contract import parse_contract


@dataclass
class RecordingContainer:
    """The few container calls ContractApp makes, recorded; files live in a dict."""

    id: str = "c1"
    name: str = "shop-web-1"
    health: str = "healthy"
    files: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    @property
    def attrs(self) -> dict[str, Any]:
        return {"Config": {"Image": "shop:v1"}, "State": {"Health": {"Status": self.health}}}

    def kill(self, signal: str) -> None:
        self.calls.append(f"kill {signal}")

    def put_archive(self, path: str, data: bytes) -> bool:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                self.files[f"{path.rstrip('/')}/{member.name}"] = b""
        self.calls.append(f"put {path}")
        return True

    def get_archive(self, path: str) -> tuple[bytes, dict[str, str]]:
        if path not in self.files:
            raise NotFound(path)
        return b"", {}

    def exec_run(self, command: list[str]) -> SimpleNamespace:
        self.calls.append(" ".join(command))
        if command[:2] == ["rm", "-f"]:
            self.files.pop(command[2], None)
        return SimpleNamespace(exit_code=0, output=b"")


def made(health: str = "healthy") -> tuple[RecordingContainer, Container]:
    """The recorder, and the same object as the container type ContractApp takes."""
    recorder = RecordingContainer(health=health)
    return recorder, cast(Container, recorder)


def app(contract: str, tmp_path) -> ContractApp:
    return ContractApp(None, "web", parse_contract(contract), override_dir=tmp_path)  # type: ignore[arg-type]


def test_the_file_contract_drains_with_a_file_put_in_by_docker_and_undrains_by_removing_it(tmp_path):
    """No program of the image's own is needed to create the file; its presence is the phase."""
    control, (recorder, container) = app("file:/tmp/drain", tmp_path), made()
    assert control.phase(container) == "ready"
    control.drain(container)
    assert recorder.files == {"/tmp/drain": b""} and recorder.calls[-1] == "put /tmp"
    assert control.phase(container) == "draining"
    control.undrain(container)
    assert recorder.files == {} and control.phase(container) == "ready"
    assert control.reclaimable


def test_the_signal_contract_sends_its_two_signals(tmp_path):
    control, (recorder, container) = app("signal:SIGUSR1/SIGHUP", tmp_path), made()
    control.drain(container)
    assert control.phase(container) == "draining"
    control.undrain(container)
    assert recorder.calls == ["kill SIGUSR1", "kill SIGHUP"]
    assert control.phase(container) == "ready" and control.reclaimable


def test_the_sigterm_contract_cannot_be_taken_back(tmp_path):
    """An undrain sends nothing, the replica stays draining, and reclaim is off for the engine."""
    control, (recorder, container) = app("sigterm", tmp_path), made("unhealthy")
    control.drain(container)
    control.undrain(container)
    assert recorder.calls == ["kill SIGTERM"]
    assert control.phase(container) == "draining" and not control.reclaimable


@pytest.mark.parametrize(("health", "phase"), [("healthy", "ready"), ("starting", "starting")])
def test_an_undrained_replica_is_in_the_phase_its_health_says(tmp_path, health, phase):
    assert app("sigterm", tmp_path).phase(made(health)[1]) == phase


def test_new_replicas_are_created_from_an_override_that_names_the_image_only(tmp_path):
    """The user's compose files stay as they are: one extra file sets the service's image."""
    control = app("file:/tmp/drain", tmp_path)
    env, files = control.compose_for(Release("registry.example/shop:v2"))
    assert env == {} and len(files) == 1
    assert json.loads(files[0].read_text()) == {"services": {"web": {"image": "registry.example/shop:v2"}}}
    assert control.version_of(made()[1]) == "shop:v1"


def test_a_file_contract_on_an_image_with_no_rm_is_known_before_the_first_drain_not_to_be_reclaimable(
    tmp_path,
):
    """An image with no programs (the article's: a static binary and busybox) can be drained by a
    tar upload, but nothing can remove the file: zerodrop asks before it drains, and from then on
    the engine treats its drains as final (an undo starts new replicas instead)."""
    control, (recorder, container) = app("file:/tmp/drain", tmp_path), made()

    def no_rm(command: list[str]) -> SimpleNamespace:
        recorder.calls.append(" ".join(command))
        return SimpleNamespace(exit_code=126, output=b'exec: "rm": executable file not found')

    recorder.exec_run = no_rm  # type: ignore[method-assign]
    assert control.reclaimable, "not known before the first drain"
    control.drain(container)
    assert recorder.calls[0].startswith("rm -f /nonexistent/") and recorder.files == {"/tmp/drain": b""}
    assert not control.reclaimable


@pytest.mark.parametrize("contract", ["signal:SIGUSR1/SIGUSR2", "sigterm"])
def test_a_drain_is_recorded_before_its_signal_and_seen_by_another_process(tmp_path, contract):
    """A rollout drains a replica and is killed: a new process (recover, the next rollout) reads
    the record and sees the replica as draining, though Docker still calls it healthy."""
    from zerodrop.adapters.drain_records import DrainRecords

    records = tmp_path / "state" / "shop.drains.json"

    def process() -> ContractApp:
        client = cast(Any, None)
        return ContractApp(
            client, "web", parse_contract(contract), override_dir=tmp_path, records=DrainRecords(records)
        )

    killed, (recorder, container) = process(), made("healthy")
    sent: list[bool] = []
    recorder.kill = lambda signal: sent.append(records.is_file())  # type: ignore[method-assign]
    killed.drain(container)
    assert sent == [True], "the record is written before the signal is sent"
    later = process()
    assert later.phase(container) == "draining"
    if later.reclaimable:
        later.undrain(container)
        assert process().phase(container) == "ready"
    later.forget(container.id or "")
    assert not DrainRecords(records).drained(container.id or "")


def test_the_inflight_helper_runs_detached_and_is_killed_and_removed_at_its_deadline():
    """A helper that hangs (a replica whose endpoint never answers) must not hold the rollout: it
    runs detached, and at its deadline it is killed and removed, and the call says so."""
    import requests

    from zerodrop.adapters.contract_app import run_helper
    from zerodrop.errors import ReplicaUnreachable

    calls: list[str] = []

    class Helper:
        def wait(self, timeout: float) -> dict[str, int]:
            calls.append(f"wait {timeout:g}")
            raise requests.exceptions.ReadTimeout("timed out")

        def kill(self) -> None:
            calls.append("kill")

        def remove(self, force: bool) -> None:
            calls.append("remove")

    class Containers:
        def run(self, image: str, command: list[str], network_mode: str, detach: bool) -> Helper:
            calls.append(f"run detach={detach}")
            return Helper()

    client = SimpleNamespace(containers=Containers())
    with pytest.raises(ReplicaUnreachable, match="did not answer within 3s"):
        run_helper(client, "python:3.12-slim", ["true"], "container:c1", 3.0, what="asking c1")  # type: ignore[arg-type]
    assert calls == ["run detach=True", "wait 3", "kill", "remove"]
