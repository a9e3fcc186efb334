"""The lab's app as zerodrop reaches it (its AppControl): APP_VERSION names its version, SIGUSR1
and SIGUSR2 drain and undrain it, SIGHUP ends its streams, its /stats (asked inside the container)
says its phase and work, and GET /health through Traefik answers with its version; and the
DockerPlatform of a lab stack, which uses it."""

from __future__ import annotations

from pathlib import Path

import docker
from docker.models.containers import Container

from zerodrop.adapters import docker_sdk, in_container
from zerodrop.adapters.docker_platform import DockerPlatform
from zerodrop.adapters.traefik_api import get_through_traefik
from zerodrop.model import EntrypointAnswer, Release, StreamsEnded
from zerodrop.target import ComposeTarget


def lab_platform(client: docker.DockerClient, cfg: ComposeTarget) -> DockerPlatform:
    """The platform of a lab stack: Docker, compose and Traefik, reaching the lab's app."""
    return DockerPlatform(client, cfg, LabApp())


class LabApp:
    """The lab's app: APP_VERSION, SIGUSR1/SIGUSR2, /stats asked inside the container."""

    stop_signals = 2
    reclaimable = True
    answer_timeout = 5.0

    def version_of(self, container: Container) -> str:
        """APP_VERSION, as the container was created with it."""
        return docker_sdk.container_env(container).get("APP_VERSION", "?")

    def compose_for(self, release: Release) -> tuple[dict[str, str], list[Path]]:
        """APP_VERSION picks the image and is baked into the app."""
        return {**release.env, "APP_VERSION": release.version}, []

    def drain(self, container: Container) -> None:
        """SIGUSR1."""
        docker_sdk.send_signal(container, "SIGUSR1")

    def undrain(self, container: Container) -> None:
        """SIGUSR2."""
        docker_sdk.send_signal(container, "SIGUSR2")

    def phase(self, container: Container) -> str:
        """From the app's /stats."""
        return str(in_container.replica_stats(container)["phase"])

    def inflight(self, container: Container, wait: float) -> int | None:
        """From the app's /stats?idle_within=."""
        return int(in_container.replica_stats(container, idle_within=wait)["inflight"])

    def end_streams(self, container: Container, wait: float) -> StreamsEnded | None:
        """SIGHUP, then the app's /stats?streams_within=: the streams it ended, and those still open."""
        docker_sdk.send_signal(container, "SIGHUP")
        stats = in_container.replica_stats(container, streams_within=wait)
        return StreamsEnded(int(stats["streams_ended"]), int(stats["streams"]))

    def forget(self, container_id: str) -> None:
        """Nothing is kept: the app itself says whether it is drained."""

    def answer(self, cfg: ComposeTarget) -> EntrypointAnswer:
        """GET /health, which must answer 200; the version from X-App-Version."""
        response = get_through_traefik(cfg, "/health", timeout=self.answer_timeout)
        status = response.status_code
        return EntrypointAnswer(status, response.headers.get("x-app-version", ""), status == 200)
