"""How zerodrop reaches the app inside a service's replicas: which version a replica runs, how compose
creates replicas of a release, how to drain and undrain one, its phase, its in-flight work, and
what answers through Traefik's entrypoint. Any service declares a drain contract
(`contract_app.ContractApp`); the lab plugs its own app in here too (lab.lab_app.LabApp)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from docker.models.containers import Container

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
