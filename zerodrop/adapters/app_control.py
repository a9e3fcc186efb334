"""How zerodrop reaches the app inside a service's replicas: which version a replica runs, how compose
creates replicas of a release, how to drain and undrain one, its phase, its in-flight work, and
what answers through Traefik's entrypoint. The lab's app has its own conventions (`LabApp`); any
other service declares a drain contract (`contract_app.ContractApp`)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from docker.models.containers import Container

from zerodrop.adapters import docker_sdk, in_container
from zerodrop.adapters.traefik_api import get_through_traefik
from zerodrop.model import EntrypointAnswer, Release, StreamsEnded
from zerodrop.target import ComposeTarget


class AppControl(Protocol):
    """The app's side of a rollout, for one service."""

    stop_signals: int  # SIGTERMs a stop sends (the lab's app skips its lame duck on the second)

    @property
    def answer_timeout(self) -> float:
        """Seconds the request through Traefik's entrypoint may take."""
        ...

    @property
    def reclaimable(self) -> bool:
        """Whether a drained replica can be put back in rotation."""
        ...

    def version_of(self, container: Container) -> str:
        """The version a replica runs."""
        ...

    def compose_for(self, release: Release) -> tuple[dict[str, str], list[Path]]:
        """The variables and extra compose files with which compose creates replicas of `release`."""
        ...

    def drain(self, container: Container) -> None:
        """Take the replica out of Traefik's rotation: its health fails, it keeps serving."""
        ...

    def undrain(self, container: Container) -> None:
        """Put a drained replica back."""
        ...

    def phase(self, container: Container) -> str:
        """starting, ready or draining."""
        ...

    def inflight(self, container: Container, wait: float) -> int | None:
        """Work in flight (None: the app cannot say), held up to `wait` for it to reach 0."""
        ...

    def end_streams(self, container: Container, wait: float) -> StreamsEnded | None:
        """Tell the replica to end its streams, and wait up to `wait` for them to close."""
        ...

    def answer(self, cfg: ComposeTarget) -> EntrypointAnswer:
        """One request through Traefik's entrypoint: its status, whether it counts as answered,
        and the version that answered."""
        ...

    def forget(self, container_id: str) -> None:
        """A replica was removed: drop what is kept about it."""
        ...


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
