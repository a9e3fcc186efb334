"""The app side of any compose service: its image is its version, compose creates new replicas
from an override file that names the new image, and it drains as its drain contract says."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path, PurePosixPath

import docker
import httpx
import requests
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container

from zerodrop.adapters import docker_sdk, in_container
from zerodrop.adapters.drain_records import DrainRecords
from zerodrop.adapters.route_check import CheckRequest
from zerodrop.errors import ReplicaUnreachable
from zerodrop.model import EntrypointAnswer, Release, StreamsEnded
from zerodrop.private_files import private_dir, private_write
from zerodrop.rollout.contract import FILE_KIND, SIGNAL_KINDS, DrainContract, InflightEndpoint
from zerodrop.target import ComposeTarget

HELPER_TIMEOUT = 3.0  # seconds the in-flight endpoint may take to answer, beyond the hold asked


def _any_host_root() -> CheckRequest:
    return CheckRequest("", "localhost", "/", tls=False, verify=True, timeout=10.0)


@dataclass
class ContractApp:
    """Any service: its image is its version, compose creates new replicas from an override file
    that names the new image, and it drains as its contract says."""

    client: docker.DockerClient
    service: str
    contract: DrainContract
    _: KW_ONLY
    override_dir: Path
    endpoint: InflightEndpoint | None = None
    helper_image: str = "python:3.12-slim"
    check: CheckRequest = field(default_factory=_any_host_root)  # the last request, as the router declares it
    streams_signal: str = ""
    records: DrainRecords = field(default_factory=lambda: DrainRecords(None))  # drains, in any process
    # file: whether the image can remove the drain file (it has `rm`), asked before the first
    # drain: None until then. Without it a drained replica cannot be put back.
    removable: bool | None = field(default=None, init=False)
    stop_signals: int = field(default=1, init=False)  # one stop signal: the service's own

    @property
    def answer_timeout(self) -> float:
        """The check's own timeout (from the service's longest request)."""
        return self.check.timeout

    @property
    def reclaimable(self) -> bool:
        """Not under the sigterm contract, nor under a file contract whose image cannot remove
        the drain file (no `rm` in it: known from the first drain on)."""
        return self.contract.reclaimable and self.removable is not False

    def version_of(self, container: Container) -> str:
        """The image reference the replica was created from."""
        return str(container.attrs.get("Config", {}).get("Image", "?"))

    def compose_for(self, release: Release) -> tuple[dict[str, str], list[Path]]:
        """An override file naming the release's image for the service (the user's files stay
        as they are)."""
        path = private_dir(self.override_dir) / f"zerodrop-{self.service}-image.json"
        private_write(path, json.dumps({"services": {self.service: {"image": release.version}}}))
        return dict(release.env), [path]

    def drain(self, container: Container) -> None:
        """The contract's drain: its signal, its file, or SIGTERM."""
        if self.contract.kind == FILE_KIND and self.removable is None:
            self.removable = _can_remove_files(container)
        self.records.add(container.id or "", self.contract.line())
        if self.contract.kind == SIGNAL_KINDS:
            docker_sdk.send_signal(container, self.contract.drain_signal)
        elif self.contract.kind == FILE_KIND:
            _put_empty_file(container, self.contract.path)
        else:
            docker_sdk.send_signal(container, "SIGTERM")

    def undrain(self, container: Container) -> None:
        """The contract's undrain (nothing can take a SIGTERM back: such a replica stays out)."""
        if self.contract.kind == SIGNAL_KINDS:
            docker_sdk.send_signal(container, self.contract.undrain_signal)
        elif self.contract.kind == FILE_KIND:
            result = container.exec_run(["rm", "-f", self.contract.path])
            if result.exit_code != 0:
                raise ReplicaUnreachable(f"removing {self.contract.path} in {container.name} failed")
        if self.contract.reclaimable:
            self.records.remove(container.id or "")

    def phase(self, container: Container) -> str:
        """draining once a drain is recorded for it, by this process or another (or its drain file
        is there), else its health: ready or starting."""
        draining = self.records.drained(container.id or "")
        if self.contract.kind == FILE_KIND:
            draining = _exists(container, self.contract.path)
        if draining:
            return "draining"
        health = ((container.attrs.get("State") or {}).get("Health") or {}).get("Status", "none")
        return "ready" if health in {"healthy", "none"} else "starting"

    def inflight(self, container: Container, wait: float) -> int | None:
        """From the declared endpoint, asked by a short-lived helper container in the replica's
        own network namespace (the image itself may have no HTTP client); None without one."""
        if self.endpoint is None:
            return None
        timeout = f"{HELPER_TIMEOUT + wait:g}"
        command = [
            "python3",
            "-S",
            "-c",
            in_container.IN_CONTAINER_GET,
            str(self.endpoint.port),
            self.endpoint.path,
            timeout,
        ]
        output = run_helper(
            self.client, self.helper_image, command, f"container:{container.id}", HELPER_TIMEOUT * 2 + wait,
            what=f"asking {container.name} for its in-flight work",
        )  # fmt: skip
        try:
            return self.endpoint.read(json.loads(output))
        except ValueError:
            raise ReplicaUnreachable(f"{container.name}'s in-flight endpoint answered no JSON") from None

    def end_streams(self, container: Container, wait: float) -> StreamsEnded | None:
        """The service's streams signal (label zerodrop.streams=signal:NAME), if it declares one;
        it does not say how many streams there were (its in-flight endpoint counts them)."""
        if not self.streams_signal:
            return None
        docker_sdk.send_signal(container, self.streams_signal)
        return StreamsEnded(-1)

    def forget(self, container_id: str) -> None:
        """A removed replica's drain record goes with it."""
        self.records.remove(container_id)

    def answer(self, cfg: ComposeTarget) -> EntrypointAnswer:
        """The check the router declares (zerodrop.adapters.route_check); the service does not
        say its version."""
        port = httpx.URL(cfg.http_url).port or 80
        try:
            response = self.check.send(port)
        except httpx.HTTPError as error:
            raise ReplicaUnreachable(
                f"{self.check.line()} through Traefik's entrypoint failed: {type(error).__name__} {error}"
            ) from None
        status = response.status_code
        return EntrypointAnswer(status, None, self.check.accepts(status), self.check.expectation())


def run_helper(
    client: docker.DockerClient,
    image: str,
    command: list[str],
    network_mode: str,
    deadline: float,
    *,
    what: str,
) -> bytes:
    """Run a short-lived helper container detached, wait at most `deadline` seconds for it, and
    return what it printed; it is killed and removed at its deadline, and removed in any case.
    ReplicaUnreachable if it could not run, failed, or ran out of time."""
    try:
        helper = client.containers.run(image, command, network_mode=network_mode, detach=True)
    except (ImageNotFound, APIError) as error:
        raise ReplicaUnreachable(f"{what}: {error}") from None
    try:
        try:
            status = int(helper.wait(timeout=deadline).get("StatusCode", 1))
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            with contextlib.suppress(APIError):
                helper.kill()
            raise ReplicaUnreachable(f"{what}: the helper did not answer within {deadline:g}s") from None
        output: bytes = helper.logs(stdout=True, stderr=False)
        if status != 0:
            raise ReplicaUnreachable(f"{what}: the helper exited {status}")
        return output
    finally:
        with contextlib.suppress(APIError, NotFound):
            helper.remove(force=True)


def _can_remove_files(container: Container) -> bool:
    """Whether the container's image has an `rm` to run (an image with no programs has none)."""
    try:
        return container.exec_run(["rm", "-f", "/nonexistent/zerodrop-undrain-probe"]).exit_code == 0
    except APIError:
        return False


def _put_empty_file(container: Container, path: str) -> None:
    """Create an empty file in a container without any program of its own (a tar upload)."""
    target = PurePosixPath(path)
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        archive.addfile(tarfile.TarInfo(target.name), io.BytesIO(b""))
    if not container.put_archive(str(target.parent), data.getvalue()):
        raise ReplicaUnreachable(f"creating {path} in {container.name} failed")


def _exists(container: Container, path: str) -> bool:
    """Whether a path exists in a container (read through Docker, no program of its own)."""
    try:
        container.get_archive(path)
    except NotFound:
        return False
    return True
