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
        """The app image of a version (`<APP_IMAGE>:<version>`); with no image repository set,
        the version is the whole image reference (`zerodrop rollout --image`)."""
        return f"{self.app_image}:{version}" if self.app_image else version


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
    # Compose's own flags, as `docker compose` takes them.
    env_files: tuple[Path, ...] = ()
    profiles: tuple[str, ...] = ()
    project_directory: Path | None = None
    # Traefik's names for the service's router and load balancer, its API and entrypoint URLs
    # on 127.0.0.1, when they are not the lab's (found from labels and Traefik's API).
    router_name: str = ""
    balancer_name: str = ""
    traefik_api: str = ""
    entrypoint_url: str = ""

    @property
    def http_url(self) -> str:
        """Traefik's entrypoint for the service, as reached from the host."""
        return self.entrypoint_url or f"http://127.0.0.1:{self.http_port}"

    @property
    def api_url(self) -> str:
        """Traefik's API, as reached from the host (user:password@ in it: basic auth)."""
        return self.traefik_api or f"http://127.0.0.1:{self.api_port}"

    @property
    def compose_file(self) -> Path:
        """The project's own compose file (the first of compose_files)."""
        return self.compose_files[0]

    @property
    def traefik_service(self) -> str:
        """The name Traefik's API gives the service's load balancer (the lab's: app@docker)."""
        return self.balancer_name or f"{self.service}@docker"

    @property
    def traefik_router(self) -> str:
        """The name Traefik's API gives the service's router (the lab's compose file names it
        after the service: traefik.http.routers.app.*)."""
        return self.router_name or f"{self.service}@docker"

    def compose_env(self) -> dict[str, str]:
        """Variables set for compose beyond the environment: the target's own."""
        return dict(self.variables)

    def with_overrides(self, **changes: object) -> ComposeTarget:
        """A copy with some settings changed (tests use a private project and ports)."""
        return replace(self, **changes)  # type: ignore[arg-type]
