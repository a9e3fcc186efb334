"""Services none of us wrote for zerodrop (conformance/), each a compose project of its own with
its own Traefik: Python's stdlib ThreadingHTTPServer, the Go program of the article this lab comes
from, Debian's nginx, a plain Node.js server. Each carries only what docs/apply.md tells a user to
add. Built from their own Dockerfiles (offline base images swapped in by build arguments), brought
up on free loopback ports, rolled v1 -> v2 by the real `zerodrop` command under the probe through
their Traefik on 127.0.0.1, and torn down."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from lab.compose_lab import free_loopback_port
from lab.config import REPO_ROOT
from zerodrop.adapters.compose_file import read_env_file
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.adapters.traefik_api import routed_ips
from zerodrop.errors import EXIT_CUT, EXIT_OK
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.waits import wait_for

CONFORMANCE = REPO_ROOT / "conformance"
OFFLINE_BASES = {"python": "PYTHON_IMAGE", "debian": "DEBIAN_IMAGE"}  # .env's names for them
UP_TIMEOUT = 900.0  # a first build installs Debian packages


@dataclass(frozen=True)
class Stranger:
    """One service of the matrix, and what its rollout must end with."""

    row: str  # the matrix's name for it
    folder: str
    service: str
    balancer: str  # Traefik's name of its load balancer
    host: str
    base_variable: str  # the build argument naming its base image
    base: str  # "python" or "debian": which base, and its offline stand-in
    long_path: str = "/"  # a slow request (its own length)
    short_path: str = "/ping"
    short_timeout: float = 10.0
    replicas: int = 3
    scale: bool = False  # its compose file sets no replicas: `up --scale SERVICE=replicas`, as its docs do
    expected_exit: int = EXIT_OK
    variables: tuple[tuple[str, str], ...] = ()  # compose variables of this row

    @property
    def image(self) -> str:
        """Its image repository (tags v1 and v2)."""
        return f"zerodrop-conformance/{self.folder}"

    @property
    def compose_file(self) -> Path:
        """Its own compose file."""
        return CONFORMANCE / self.folder / "compose.yml"


STRANGERS = [
    Stranger(
        "python-stdlib, Traefik's default idleConnTimeout (90 s)", "python-stdlib", "web", "pool@docker",
        "stdlib.localhost", "BASE_IMAGE", "python", expected_exit=EXIT_CUT,
    ),
    Stranger(
        "python-stdlib, idleConnTimeout 5 s", "python-stdlib", "web", "pool@docker", "stdlib.localhost",
        "BASE_IMAGE", "python", variables=(("TRAEFIK_IDLE", "5s"),),
    ),
    Stranger(
        "the article's Go program", "go-article", "app", "app-{project}@docker", "app.docker.localhost",
        "BUILD_IMAGE", "debian", short_timeout=20.0, replicas=2, scale=True,
    ),
    Stranger(
        "nginx (Debian's)", "nginx", "site", "static@docker", "nginx.localhost", "BASE_IMAGE",
        "debian", long_path="/big.bin", short_path="/",
    ),
    Stranger(
        "Node.js http (Debian's)", "node", "api", "nodes@docker", "node.localhost", "BASE_IMAGE",
        "debian",
    ),
]  # fmt: skip
SMOKE = STRANGERS[:1]  # in CI: the stdlib server, killed at its grace by Traefik's idle connections


def selected() -> list[Stranger]:
    """The rows to run: all with ZERODROP_CONFORMANCE=all (make test-conformance), else SMOKE."""
    return STRANGERS if os.environ.get("ZERODROP_CONFORMANCE") == "all" else SMOKE


@dataclass(frozen=True)
class Running:
    """A stranger's project, up, and how to reach it."""

    stranger: Stranger
    project: str
    env_file: Path
    http_port: int
    api_port: int

    @property
    def balancer(self) -> str:
        """Traefik's name of its load balancer in this project."""
        return self.stranger.balancer.format(project=self.project)

    def routed(self) -> set[str]:
        """The addresses Traefik's API lists for its load balancer now."""
        return routed_ips(f"http://127.0.0.1:{self.api_port}", self.balancer)

    def flags(self, *extra_files: Path) -> list[str]:
        """compose's flags for it, as a user passes them to zerodrop (override files on top)."""
        files = [a for f in (self.stranger.compose_file, *extra_files) for a in ("-f", str(f))]
        return ["-p", self.project, *files, "--env-file", str(self.env_file)]

    def zerodrop(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`zerodrop COMMAND [SERVICE] ...` as a user runs it; what it said is printed."""
        service = [] if command == "lint" else [self.stranger.service]
        argv = [sys.executable, "-m", "zerodrop", command, *service, *args, *self.flags()]
        if command != "lint":
            argv += ["--traefik-api", f"http://127.0.0.1:{self.api_port}"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=REPO_ROOT, check=False)
        print(done.stdout, done.stderr, sep="\n")
        return done

    def probe_options(self) -> ProbeOptions:
        """4 slow requests always in flight and 10 short ones a second, GETs only (no checks of
        the lab's own app)."""
        return ProbeOptions(
            base_url=f"http://127.0.0.1:{self.http_port}",
            host=self.stranger.host,
            long_concurrency=4,
            short_rate=10.0,
            write_rate=0.0,
            write_path=None,
            duration=900,
            long_path=self.stranger.long_path,
            short_path=self.stranger.short_path,
            short_timeout=self.stranger.short_timeout,
            app_checks=False,
        )


def _env(stranger: Stranger, http_port: int, api_port: int) -> str:
    """The project's env file: its ports, the offline base and Traefik images where .env names
    them, and the row's variables."""
    lab_env = read_env_file(REPO_ROOT / ".env")
    base = lab_env.get(OFFLINE_BASES[stranger.base])
    if stranger.base == "debian" and base is None:  # the script answers, and builds it once if offline
        script = subprocess.run(["bash", "scripts/build-debian-base.sh"], cwd=REPO_ROOT, capture_output=True,
                                text=True, check=True, timeout=UP_TIMEOUT)  # fmt: skip
        base = script.stdout.strip().splitlines()[-1]
    lines = [f"HTTP_PORT={http_port}", f"API_PORT={api_port}"]
    lines += [f"TRAEFIK_IMAGE={lab_env['TRAEFIK_IMAGE']}"] if "TRAEFIK_IMAGE" in lab_env else []
    lines += [f"{stranger.base_variable}={base}"] if base else []
    lines += [f"{k}={v}" for k, v in stranger.variables]
    return "\n".join(lines) + "\n"


def build(stranger: Stranger, running: Running) -> None:
    """Its v1 image from its own Dockerfile (compose build), and v2 the same build, retagged."""
    run_docker(
        "compose", *running.flags(), "build", stranger.service, env=dict(os.environ), timeout=UP_TIMEOUT
    )
    run_docker("tag", f"{stranger.image}:v1", f"{stranger.image}:v2", env=dict(os.environ), timeout=60)


@contextmanager
def running_stranger(
    client: docker.DockerClient, stranger: Stranger, directory: Path, *extra_files: Path
) -> Iterator[Running]:
    """A fresh zdconf-* project of the stranger on two free loopback ports (override files on
    top), built, up, every replica routed; removed on the way out, with an AssertionError if it
    left a container."""
    http_port, api_port = free_loopback_port(), free_loopback_port()
    env_file = directory / f"{stranger.folder}.env"
    env_file.write_text(_env(stranger, http_port, api_port), encoding="utf-8")
    running = Running(stranger, f"zdconf-{uuid.uuid4().hex[:6]}", env_file, http_port, api_port)
    compose = ["compose", *running.flags(*extra_files)]
    try:
        build(stranger, running)
        scale = ["--scale", f"{stranger.service}={stranger.replicas}"] if stranger.scale else []
        run_docker(*compose, "up", "-d", "--no-build", *scale, env=dict(os.environ), timeout=UP_TIMEOUT)
        wait_for(
            lambda: len(running.routed()) == stranger.replicas,
            what=f"Traefik to route {stranger.replicas} replicas of {stranger.row}",
            timeout=180,
            interval=0.5,
            transient=(Exception,),
        )
        yield running
    finally:
        run_docker(*compose, "down", "--volumes", "--remove-orphans", "--timeout", "60", env=dict(os.environ))
        left = service_containers(client, running.project, all=True)
        assert not left, f"{stranger.row} left containers behind: {[c.name for c in left]}"
