"""What the Swarm lab routes: each task as Swarm and Traefik see it, and waiting until Traefik
routes exactly the tasks of one version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import docker

from lab.swarm import engine
from lab.swarm.config import SwarmConfig
from zerodrop.adapters.traefik_api import routed_ips
from zerodrop.errors import TraefikUnavailable
from zerodrop.waits import wait_for


@dataclass(frozen=True)
class TaskView:
    """One task of the app service: its version, Swarm state, and address on the stack's network."""

    id: str
    slot: int
    version: str
    state: str
    desired: str
    ip: str | None
    node_id: str = ""

    @property
    def serving(self) -> bool:
        """Running, and meant to be (not a task Swarm is stopping)."""
        return self.state == "running" and self.desired == "running"


def _task_view(task: dict[str, Any], network: str) -> TaskView:
    spec = (task.get("Spec") or {}).get("ContainerSpec") or {}
    env = dict(pair.split("=", 1) for pair in spec.get("Env") or [] if "=" in pair)
    ip = None
    for attachment in task.get("NetworksAttachments") or []:
        if (attachment.get("Network") or {}).get("Spec", {}).get("Name") == network:
            addresses = attachment.get("Addresses") or []
            ip = addresses[0].split("/")[0] if addresses else None
    return TaskView(
        id=str(task.get("ID", ""))[:12],
        slot=int(task.get("Slot") or 0),
        version=env.get("APP_VERSION", "?"),
        state=str((task.get("Status") or {}).get("State", "?")),
        desired=str(task.get("DesiredState", "?")),
        ip=ip,
        node_id=str(task.get("NodeID", "")),
    )


def tasks(client: docker.DockerClient, cfg: SwarmConfig) -> list[TaskView]:
    """Every task Swarm keeps for the app service, by slot."""
    network = f"{cfg.stack}_lab"
    views = [_task_view(t, network) for t in engine.swarm_tasks(client, cfg.app_service)]
    return sorted(views, key=lambda v: (v.slot, v.desired != "running"))


@dataclass(frozen=True)
class SwarmRouting:
    """Serving tasks, what Traefik routes, and app tasks whose container still runs (old ones
    finishing), on whichever node."""

    serving: list[TaskView]
    routed: set[str]
    running_containers: int

    def settled_at(self, version: str, replicas: int) -> bool:
        """Exactly `replicas` tasks of `version` serve, Traefik routes exactly them, and no other
        app container runs."""
        ips = {t.ip for t in self.serving}
        return (
            len(self.serving) == replicas
            and all(t.version == version for t in self.serving)
            and ips == self.routed
            and self.running_containers == replicas
        )

    def line(self) -> str:
        """'2 serving (v2 10.0.1.7, v2 10.0.1.8), Traefik routes 2, 3 app containers running'."""
        tasks_text = ", ".join(f"{t.version} {t.ip}" for t in self.serving)
        return (
            f"{len(self.serving)} serving ({tasks_text}), Traefik routes {len(self.routed)} "
            f"{sorted(self.routed)}, {self.running_containers} app container(s) running"
        )


def routing_now(client: docker.DockerClient, cfg: SwarmConfig) -> SwarmRouting:
    """The app's serving tasks, Traefik's servers for it (from its API), and how many of its
    tasks still run (read from Swarm, so tasks on other nodes count too)."""
    every = tasks(client, cfg)
    serving = [t for t in every if t.serving]
    running = [t for t in every if t.state == "running"]
    return SwarmRouting(serving, routed_ips(cfg.api_url, "app@swarm"), len(running))


def wait_settled(client: docker.DockerClient, cfg: SwarmConfig, version: str, timeout: float) -> SwarmRouting:
    """Wait until every replica runs `version`, Traefik routes exactly those tasks, and every
    other app container has exited."""

    def check() -> SwarmRouting | None:
        routing = routing_now(client, cfg)
        return routing if routing.settled_at(version, cfg.replicas) else None

    return wait_for(
        check,
        what=f"{cfg.replicas} {version} task(s) routed by Traefik and no other app container",
        timeout=timeout,
        interval=0.25,
        last_seen=lambda: routing_now(client, cfg).line(),
        transient=(TraefikUnavailable,),
    )


def current_version(client: docker.DockerClient, cfg: SwarmConfig) -> str | None:
    """The APP_VERSION of the app service's spec now, or None if the service does not exist (or
    swarm mode is off)."""
    if not engine.swarm_active(client):
        return None
    service = engine.swarm_service(client, cfg.app_service)
    if service is None:
        return None
    spec = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    env = dict(pair.split("=", 1) for pair in spec.get("Env") or [] if "=" in pair)
    return env.get("APP_VERSION")
