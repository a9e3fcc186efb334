"""The example of "your own service" (examples/own-service) as a running compose project of its
own: a stdlib shop, three replicas, its own Traefik on two free loopback ports. Brought up and torn
down for the lab tests and the bench, and driven through the real `zerodrop` command."""

from __future__ import annotations

import os
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
from zerodrop.adapters.compose_file import read_env_file
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.adapters.traefik_api import routed_ips
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.waits import wait_for

EXAMPLE = REPO_ROOT / "examples" / "own-service"
IMAGE = "zerodrop-example/shop"
REPLICAS = 3  # compose.prod.yml
BALANCER = "web-backend@docker"
HOST = "shop.localhost"


@dataclass(frozen=True)
class Shop:
    """The running example project and how to reach it."""

    project: str
    env_file: Path
    http_port: int
    api_port: int

    def flags(self, *extra_files: Path) -> list[str]:
        """compose's flags for this project, as a user passes them to zerodrop."""
        files = [EXAMPLE / "compose.yml", EXAMPLE / "compose.prod.yml", *extra_files]
        return [
            "-p",
            self.project,
            *(a for f in files for a in ("-f", str(f))),
            "--env-file",
            str(self.env_file),
        ]

    def zerodrop(
        self,
        *args: str,
        extra_files: tuple[Path, ...] = (),
        command: str = "rollout",
        traefik_api: str | None = None,
        env: Mapping[str, str] | None = None,
        service: str | None = "api",
    ) -> subprocess.CompletedProcess[str]:
        """Run `zerodrop COMMAND api ...` (or, `service` None, `zerodrop COMMAND ...`) as a user
        would (Traefik's API by its published port unless `traefik_api` says otherwise; `env` on
        top of this process's), printing what it said."""
        named = [service] if service else []
        argv = [sys.executable, "-m", "zerodrop", command, *named, *args, *self.flags(*extra_files)]
        argv += ["--traefik-api", traefik_api or f"http://127.0.0.1:{self.api_port}"]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT, check=False,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        print(done.stdout, done.stderr, sep="\n")
        return done

    def probe_options(
        self, *, long: int = 4, short_rate: float = 20.0, write_rate: float = 10.0
    ) -> ProbeOptions:
        """The probe on the shop: 10 s requests to /slow, GET /, POST /orders (no ledger checks)."""
        return ProbeOptions(
            base_url=f"http://127.0.0.1:{self.http_port}",
            host=HOST,
            long_concurrency=long,
            short_rate=short_rate,
            write_rate=write_rate,
            duration=600,
            long_seconds=10.0,
            long_path="/slow",
            short_path="/",
            write_path="/orders",
            app_checks=False,
        )


def compose_env(**extra: str) -> dict[str, str]:
    """The environment compose runs in: the offline Traefik image on hosts with no registry."""
    lab_env = read_env_file(REPO_ROOT / ".env")
    return {**os.environ, **{k: v for k, v in lab_env.items() if k == "TRAEFIK_IMAGE"}, **extra}


def compose(shop: Shop, *args: str, env: dict[str, str] | None = None) -> None:
    """docker compose on the shop's project."""
    run_docker("compose", *shop.flags(), *args, env=env or compose_env(), timeout=300, cwd=EXAMPLE)


def build_images(versions: tuple[str, ...] = ("v1", "v2")) -> None:
    """The shop's images, on the lab's Python base image (offline here, python:3.12-slim elsewhere)."""
    base = read_env_file(REPO_ROOT / ".env").get("PYTHON_IMAGE", "python:3.12-slim")
    for version in versions:
        run_docker(
            "build", "-q", "--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"SHOP_VERSION={version}",
            "-t", f"{IMAGE}:{version}", str(EXAMPLE / "shop"), env=compose_env(), timeout=600,
        )  # fmt: skip


def images(client: docker.DockerClient, shop: Shop) -> list[str]:
    """The image each running replica of the shop's api was created from."""
    return sorted(c.attrs["Config"]["Image"] for c in service_containers(client, shop.project, "api"))


@contextmanager
def running_shop(client: docker.DockerClient, directory: Path) -> Iterator[Shop]:
    """A fresh zdown-* project of the shop on two free loopback ports, every replica routed;
    removed on the way out, with an AssertionError if it left a container behind."""
    http_port, api_port = free_loopback_port(), free_loopback_port()
    env_file = directory / "shop.env"
    env_file.write_text(f"SHOP_HTTP_PORT={http_port}\nSHOP_API_PORT={api_port}\n", encoding="utf-8")
    shop = Shop(f"zdown-{uuid.uuid4().hex[:6]}", env_file, http_port, api_port)
    try:
        compose(shop, "up", "-d")
        wait_for(
            lambda: len(routed_ips(f"http://127.0.0.1:{api_port}", BALANCER)) == REPLICAS,
            what="Traefik to route the shop's replicas",
            timeout=120,
            interval=0.5,
            transient=(Exception,),
        )
        yield shop
    finally:
        compose(shop, "down", "--volumes", "--remove-orphans", "--timeout", "45")
        left = service_containers(client, shop.project, all=True)
        assert not left, f"the shop left containers behind: {[c.name for c in left]}"
