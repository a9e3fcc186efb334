"""The whole-project example (examples/whole-project) as a running compose project: Traefik, a db
with a volume, two routed services (web after api), a worker. Brought up and torn down for the
`zerodrop up` lab tests and bench, and driven through the real `zerodrop` command."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from lab.compose_lab import free_loopback_port
from lab.config import REPO_ROOT
from lab.example_shop import IMAGE, compose_env
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.adapters.traefik_api import routed_ips
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.waits import wait_for

WHOLE = REPO_ROOT / "examples" / "whole-project"
ROUTED = {"api": "api.localhost", "web": "web.localhost"}  # service: its Host
REPLICAS = 2  # api's and web's
IMAGE_VARIABLES = ("API_IMAGE", "WEB_IMAGE", "WORKER_IMAGE", "DB_IMAGE")


BROKEN = f"{IMAGE}:broken"  # the shop's image with a command that exits at once: never healthy


def build_broken_image(directory: Path) -> None:
    """BROKEN, on top of the shop's v1 image."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text(
        f'FROM {IMAGE}:v1\nCMD ["python3", "-c", "raise SystemExit(\'broken on purpose\')"]\n',
        encoding="utf-8",
    )
    run_docker("build", "-q", "-t", BROKEN, str(directory), env=compose_env(), timeout=300)


def images_at(version: str, *variables: str) -> dict[str, str]:
    """The image variables (all, or those named) set to the shop's image at `version`."""
    return {name: f"{IMAGE}:{version}" for name in variables or IMAGE_VARIABLES}


@dataclass(frozen=True)
class WholeProject:
    """The running example project and how to reach it."""

    project: str
    env_file: Path
    http_port: int
    api_port: int

    def flags(self) -> list[str]:
        """compose's flags for this project, as a user passes them to zerodrop."""
        return ["-p", self.project, "-f", str(WHOLE / "compose.yml"), "--env-file", str(self.env_file)]

    def zerodrop_up(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `zerodrop up ARGS` as a user would, with `env` on top of compose's; what it said."""
        done = subprocess.run(
            [sys.executable, "-m", "zerodrop", "up", *args, *self.flags()], capture_output=True, text=True,
            timeout=900, cwd=REPO_ROOT, check=False, env=compose_env(**(env or {})),
        )  # fmt: skip
        print(done.stdout, done.stderr, sep="\n")
        return done

    def compose(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        """docker compose on this project."""
        run_docker("compose", *self.flags(), *args, env=compose_env(**(env or {})), timeout=300, cwd=WHOLE)

    def probe_options(self, service: str, *, long: int = 2, short_rate: float = 10.0) -> ProbeOptions:
        """The probe on one routed service: 10 s requests to /slow, GET /, POST /orders."""
        return ProbeOptions(
            base_url=f"http://127.0.0.1:{self.http_port}", host=ROUTED[service], long_concurrency=long,
            short_rate=short_rate, write_rate=5.0, duration=600, long_seconds=10.0, long_path="/slow",
            short_path="/", write_path="/orders", app_checks=False,
        )  # fmt: skip

    def containers(self, client: docker.DockerClient) -> dict[str, tuple[str, str]]:
        """Each running container of the project: its name -> (id, image)."""
        return {
            c.name or "": (c.id or "", c.attrs["Config"]["Image"])
            for c in service_containers(client, self.project)
        }


def all_routed(project: WholeProject) -> bool:
    """Whether Traefik routes every replica of api and web."""
    api = f"http://127.0.0.1:{project.api_port}"
    return all(len(routed_ips(api, f"{name}@docker")) == REPLICAS for name in ROUTED)


@contextmanager
def running_whole_project(client: docker.DockerClient, directory: Path) -> Iterator[WholeProject]:
    """A fresh zdwhole-* project on two free loopback ports, at v1, every replica routed; removed
    on the way out, with an AssertionError if it left a container behind."""
    http_port, api_port = free_loopback_port(), free_loopback_port()
    env_file = directory / "whole.env"
    env_file.write_text(f"WHOLE_HTTP_PORT={http_port}\nWHOLE_API_PORT={api_port}\n", encoding="utf-8")
    project = WholeProject(f"zdwhole-{uuid.uuid4().hex[:6]}", env_file, http_port, api_port)
    try:
        project.compose("up", "-d", "--wait", env=images_at("v1"))
        wait_for(
            lambda: all_routed(project), what="Traefik to route api and web", timeout=120, interval=0.5,
            transient=(Exception,),
        )  # fmt: skip
        yield project
    finally:
        project.compose("down", "--volumes", "--remove-orphans", "--timeout", "30", env=images_at("v1"))
        left = service_containers(client, project.project, all=True)
        assert not left, f"the project left containers behind: {[c.name for c in left]}"
