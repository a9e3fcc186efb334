"""What a rollout targets: one compose service behind Traefik, reached on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


class TraefikEndpoints:
    """What a lab stack (compose or Swarm) shares: Traefik's ports as the host reaches them, on
    127.0.0.1 only, the Host header the app's router matches, and the app image's name."""

    http_port: int
    api_port: int
    app_host: str
    app_image: str

    @property
    def http_url(self) -> str:
        """Traefik's web entrypoint as reached from the host."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def api_url(self) -> str:
        """Traefik's API as reached from the host."""
        return f"http://127.0.0.1:{self.api_port}"

    def image_of(self, version: str) -> str:
        """The app image of a version (`<APP_IMAGE>:<version>`)."""
        return f"{self.app_image}:{version}"


@dataclass(frozen=True)
class ComposeTarget(TraefikEndpoints):
    """A compose service to roll and probe: its project and files, Traefik's endpoints and names
    for it, how many replicas it runs, and where its rollout history and outputs go."""

    project: str
    compose_files: tuple[Path, ...]  # the lab's file, then any override files (workshop scenarios)
    service: str
    http_port: int
    api_port: int
    app_host: str
    replicas: int
    app_image: str
    up_timeout: float
    state_dir: Path
    out_dir: Path
    # Extra compose variables for this stack (workshop variants: DRAIN_SECONDS=0, ...).
    variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def compose_file(self) -> Path:
        """The project's own compose file (the first of compose_files)."""
        return self.compose_files[0]

    @property
    def traefik_service(self) -> str:
        """The name Traefik's API gives the app's load balancer."""
        return f"{self.service}@docker"

    @property
    def traefik_router(self) -> str:
        """The name Traefik's API gives the app's router (the compose file names it after the
        service: traefik.http.routers.app.*)."""
        return f"{self.service}@docker"

    def compose_env(self) -> dict[str, str]:
        """Variables the compose file reads, so compose and the lab agree."""
        return {
            "COMPOSE_PROJECT_NAME": self.project,
            "LAB_HTTP_PORT": str(self.http_port),
            "LAB_API_PORT": str(self.api_port),
            "APP_HOST": self.app_host,
            "APP_REPLICAS": str(self.replicas),
            "APP_IMAGE": self.app_image,
            **self.variables,
        }

    def with_overrides(self, **changes: object) -> ComposeTarget:
        """A copy with some settings changed (tests use a private project and ports)."""
        return replace(self, **changes)  # type: ignore[arg-type]
