"""The edge Traefiks of bench/proxy_handover.py: where they listen (the host's network, or the
network namespace an anchor container holds), how each starts and is confirmed routing in its own
API, a kernel setting held for a row, and their removal."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from lab.compose_lab import free_loopback_port
from lab.config import REPO_ROOT
from zerodrop.adapters.compose_file import read_env_file
from zerodrop.adapters.traefik_api import routed_ips, router_doc
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

MIGRATE = "net.ipv4.tcp_migrate_req"


@contextmanager
def sysctl(name: str, value: int | None) -> Iterator[None]:
    """The kernel setting at `value` for the block (None: untouched), put back as it was after."""
    if value is None:
        yield
        return
    path = Path("/proc/sys") / name.replace(".", "/")
    before = path.read_text(encoding="utf-8").strip()
    path.write_text(str(value), encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(before, encoding="utf-8")


def edge_command(cfg: ComposeTarget, web: str, api: str, accept_grace: float) -> list[str]:
    """An edge Traefik's flags: the lab's provider settings, the entrypoint on `web` with
    reusePort, its API on `api` (an address of its own)."""
    return [
        "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
        "--providers.docker=true", "--providers.docker.exposedByDefault=false",
        f"--providers.docker.constraints=Label(`com.docker.compose.project`,`{cfg.project}`)",
        f"--providers.docker.network={cfg.project}_lab", "--providers.providersThrottleDuration=500ms",
        f"--entrypoints.web.address={web}", "--entrypoints.web.reuseport=true",
        f"--entrypoints.web.transport.lifecycle.requestacceptgracetimeout={accept_grace:g}s",
        "--entrypoints.web.transport.lifecycle.gracetimeout=30s",
        f"--entrypoints.traefik.address={api}", "--api.insecure=true", "--ping=true",
        "--serversTransport.forwardingTimeouts.idleConnTimeout=10s",
    ]  # fmt: skip


@dataclass
class Place:
    """Where the edge Traefiks listen: their network mode, the entrypoint's address, and for each
    Traefik in turn its API's address inside and URL from the host."""

    network_mode: str
    web: str
    apis: list[tuple[str, str]]

    def next_api(self) -> tuple[str, str]:
        """The next Traefik's API: (address it binds, URL on 127.0.0.1)."""
        return self.apis.pop(0)


def start_edge(client: docker.DockerClient, cfg: ComposeTarget, place: Place, accept_grace: float) -> str:
    """An edge Traefik, labelled with the project (so cleaning the lab finds it); its container id,
    once its API lists both of the app's servers."""
    address, api = place.next_api()
    container = client.containers.run(
        traefik_image(), edge_command(cfg, place.web, address, accept_grace), detach=True,
        network_mode=place.network_mode,
        volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "ro"}},
        labels={"com.docker.compose.project": cfg.project}, name=f"{cfg.project}-edge-{uuid.uuid4().hex[:4]}",
    )  # fmt: skip

    def routes() -> bool:
        return (
            router_doc(api, "app@docker") is not None and len(routed_ips(api, "app@docker")) == cfg.replicas
        )

    wait_for(
        routes, what="the edge Traefik to route the app", timeout=60, interval=0.2, transient=(Exception,)
    )
    return container.id or ""


def host_place() -> tuple[Place, int]:
    """Both Traefiks on the host's network, on 127.0.0.1:PORT; the port."""
    port, api1, api2 = (free_loopback_port() for _ in range(3))
    apis = [(f"127.0.0.1:{a}", f"http://127.0.0.1:{a}") for a in (api1, api2)]
    return Place("host", f"127.0.0.1:{port}", apis), port


ANCHOR_PROGRAM = REPO_ROOT / "deploy" / "proxy-anchor" / "anchor.py"


def anchored_place(
    client: docker.DockerClient, cfg: ComposeTarget, migrate: int, *, steer: bool = False
) -> tuple[Place, int]:
    """An anchor container on the app's network that holds a network namespace, its port 80 and
    two API ports published on 127.0.0.1, with the sysctl set in it; both Traefiks join it. With
    `steer`, it is deploy/proxy-anchor/anchor.py, which hands every new connection on port 80 to
    the oldest Traefik; else a process that only waits."""
    port, api1, api2 = (free_loopback_port() for _ in range(3))
    python = read_env_file(REPO_ROOT / ".env").get("PYTHON_IMAGE") or "python:3.12-slim"
    published = {"80/tcp": port, "8080/tcp": api1, "8081/tcp": api2}
    program = ["python3", "/anchor.py"] if steer else ["python3", "-c", "import signal; signal.pause()"]
    anchor = client.containers.run(
        python, program, detach=True, network=f"{cfg.project}_lab", environment={"ANCHOR_PORTS": "80"},
        volumes={str(ANCHOR_PROGRAM): {"bind": "/anchor.py", "mode": "ro"}},
        ports={inside: ("127.0.0.1", outside) for inside, outside in published.items()},
        sysctls={MIGRATE: str(migrate)}, labels={"com.docker.compose.project": cfg.project},
        name=f"{cfg.project}-edge-anchor",
    )  # fmt: skip
    apis = [(":8080", f"http://127.0.0.1:{api1}"), (":8081", f"http://127.0.0.1:{api2}")]
    return Place(f"container:{anchor.id}", ":80", apis), port


def remove_edges(client: docker.DockerClient, project: str) -> None:
    """Every edge Traefik and anchor of the project, removed (Traefiks first: they use the anchor)."""
    found = client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
    edges = sorted(
        (c for c in found if "-edge-" in (c.name or "")), key=lambda c: (c.name or "").endswith("anchor")
    )
    for container in edges:
        container.remove(force=True)


def traefik_image() -> str:
    """The Traefik image the lab runs (the offline one on hosts with no registry)."""
    from_file = read_env_file(REPO_ROOT / ".env").get("TRAEFIK_IMAGE")
    return os.environ.get("TRAEFIK_IMAGE") or from_file or "traefik:v3.7.15"
