"""The Swarm lab: the app as a Swarm service behind Traefik's swarm provider (docker-stack.yml),
rolled by Swarm's own rolling update. Up, update, down, and what Traefik routes, checked through
its API. Swarm mode is switched on only if it was off, and switched off again by `swarm_down`
(the engine is left as it was found)."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from lab.config import SwarmConfig
from zerodrop.adapters import docker_sdk
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.adapters.traefik_api import routed_ips
from zerodrop.errors import StackError, SwarmInputError, TraefikUnavailable
from zerodrop.waits import wait_for

INITIALISED_MARKER = "swarm-initialised-by-lab"  # in the state dir: `swarm-down` leaves swarm mode
GATEWAY_BRIDGE = "docker_gwbridge"  # the bridge `swarm init` creates for host-mode ports
UPDATE_DONE = frozenset({"completed", "paused", "rollback_completed", "rollback_paused"})
SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


def default_route_address(route_table: Path = Path("/proc/net/route")) -> str | None:
    """The IPv4 address of the interface the default route leaves by (what `docker swarm init
    --advertise-addr` wants on a host with several addresses), or None if there is none."""
    if not route_table.is_file():
        return None
    for line in route_table.read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 1 and fields[1] == "00000000":
            return interface_address(fields[0])
    return None


def interface_address(interface: str) -> str | None:
    """An interface's IPv4 address (Linux), or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return None
    return str(ipaddress.IPv4Address(packed[20:24]))


@dataclass(frozen=True)
class SwarmState:
    """Whether swarm mode is on, and whether this lab switched it on (so may switch it off)."""

    active: bool
    ours: bool


def swarm_state(client: docker.DockerClient, cfg: SwarmConfig) -> SwarmState:
    """Swarm mode now, and whether the lab's marker says it turned it on."""
    return SwarmState(docker_sdk.swarm_active(client), (cfg.state_dir / INITIALISED_MARKER).is_file())


def ensure_swarm(client: docker.DockerClient, cfg: SwarmConfig) -> bool:
    """Make the engine a single-node swarm if it is not one; True if this call did (and then a
    marker in the state dir remembers it, with whether docker_gwbridge existed before)."""
    if docker_sdk.swarm_active(client):
        return False
    address = default_route_address() if cfg.advertise_addr == "auto" else cfg.advertise_addr
    had_bridge = GATEWAY_BRIDGE in {n.name for n in client.networks.list(names=[GATEWAY_BRIDGE])}
    docker_sdk.swarm_init(client, address)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    (cfg.state_dir / INITIALISED_MARKER).write_text(
        f"advertise_addr={address}\nhad_gateway_bridge={had_bridge}\n", encoding="utf-8"
    )
    return True


def leave_swarm_if_ours(client: docker.DockerClient, cfg: SwarmConfig) -> bool:
    """Leave swarm mode if the lab switched it on and no other stack's service runs; remove the
    gateway bridge swarm created. True if it left."""
    marker = cfg.state_dir / INITIALISED_MARKER
    if not marker.is_file():
        return False
    if docker_sdk.swarm_active(client):
        if docker_sdk.swarm_stacks(client):
            return False  # someone else's services: leave the swarm to them
        docker_sdk.swarm_leave(client)
    if "had_gateway_bridge=False" in marker.read_text(encoding="utf-8"):
        for network in client.networks.list(names=[GATEWAY_BRIDGE]):
            if network.name == GATEWAY_BRIDGE:
                network.remove()
    marker.unlink()
    return True


def _stack_command(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    return run_docker(
        "stack", *args, env={**os.environ, **(env or {})}, error=StackError, timeout=timeout,
        name=f"stack {args[0]}",
    )  # fmt: skip


def stack_deploy(cfg: SwarmConfig, version: str, extra_env: dict[str, str] | None = None) -> None:
    """`docker stack deploy` the stack file at `version`, returning at once (Swarm rolls on).
    Local images only: no registry is asked for a digest."""
    if not cfg.stack_file.is_file():
        raise SwarmInputError(f"stack file not found: {cfg.stack_file}")
    detach = ["--detach=true"] if "--detach" in _stack_command("deploy", "--help") else []
    env = {**cfg.stack_env(version), **(extra_env or {})}
    _stack_command(
        "deploy", "--resolve-image", "never", *detach, "-c", str(cfg.stack_file), cfg.stack, env=env
    )


def stack_remove(client: docker.DockerClient, cfg: SwarmConfig, timeout: float) -> None:
    """`docker stack rm`, then wait (bounded) until its containers and networks are gone."""
    if docker_sdk.swarm_active(client) and cfg.stack in docker_sdk.swarm_stacks(client):
        _stack_command("rm", cfg.stack)
    wait_for(
        lambda: (
            not docker_sdk.stack_containers(client, cfg.stack)
            and not docker_sdk.stack_networks(client, cfg.stack)
        ),
        what=f"stack {cfg.stack}'s containers and networks to go",
        timeout=timeout,
        interval=0.5,
        last_seen=lambda: f"{len(docker_sdk.stack_containers(client, cfg.stack))} container(s) left",
    )
    for volume in client.volumes.list(filters={"label": f"{docker_sdk.STACK_LABEL}={cfg.stack}"}):
        volume.remove(force=True)


@dataclass(frozen=True)
class TaskView:
    """One task of the app service: its version, Swarm state, and address on the stack's network."""

    id: str
    slot: int
    version: str
    state: str
    desired: str
    ip: str | None

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
    )


def tasks(client: docker.DockerClient, cfg: SwarmConfig) -> list[TaskView]:
    """Every task Swarm keeps for the app service, by slot."""
    network = f"{cfg.stack}_lab"
    views = [_task_view(t, network) for t in docker_sdk.swarm_tasks(client, cfg.app_service)]
    return sorted(views, key=lambda v: (v.slot, v.desired != "running"))


@dataclass(frozen=True)
class SwarmRouting:
    """Serving tasks, what Traefik routes, and app containers still running (old ones finishing)."""

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
    """The app's serving tasks, Traefik's servers for it (from its API), and its running containers."""
    serving = [t for t in tasks(client, cfg) if t.serving]
    running = [
        c for c in docker_sdk.stack_containers(client, cfg.stack, cfg.app_service) if c.status == "running"
    ]
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
    if not docker_sdk.swarm_active(client):
        return None
    service = docker_sdk.swarm_service(client, cfg.app_service)
    if service is None:
        return None
    spec = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    env = dict(pair.split("=", 1) for pair in spec.get("Env") or [] if "=" in pair)
    return env.get("APP_VERSION")


@dataclass(frozen=True)
class SwarmUp:
    """What `swarm_up` did and how long each part took."""

    initialised: bool
    deploy_seconds: float
    routed_seconds: float
    routing: SwarmRouting


def swarm_up(client: docker.DockerClient, cfg: SwarmConfig, version: str = "v1") -> SwarmUp:
    """Switch swarm mode on if needed, deploy the stack at `version`, and wait until Traefik routes
    every task (read from its API)."""
    if not docker_sdk.image_exists(client, cfg.image_of(version)):
        raise SwarmInputError(f"no image {cfg.image_of(version)} on this engine: run `make lab-up` first")
    initialised = ensure_swarm(client, cfg)
    t0 = time.monotonic()
    stack_deploy(cfg, version)
    t1 = time.monotonic()
    routing = wait_settled(client, cfg, version, cfg.up_timeout)
    return SwarmUp(initialised, t1 - t0, time.monotonic() - t1, routing)


@dataclass(frozen=True)
class SwarmUpdate:
    """How Swarm's rolling update ended and how long it took."""

    target: str
    state: str  # completed, rollback_completed, paused, rollback_paused
    message: str
    update_seconds: float  # deploy -> Swarm reports the update (or its rollback) done
    settled_seconds: float  # deploy -> the old tasks exited and Traefik routes exactly the new ones
    final_version: str
    routing: SwarmRouting
    # Each update state Swarm reported, with seconds since the deploy when it was first seen.
    states: tuple[tuple[str, float], ...] = ()
    deployed_at: float = 0.0  # wall clock (time.time) of the deploy, as the probe's records use

    def spans(self) -> list[tuple[str, float, float]]:
        """Wall-clock spans for a timeline: the update until Swarm called it done, then until the
        old tasks were gone and Traefik routed exactly the new ones."""
        done = self.deployed_at + self.update_seconds
        return [
            (f"docker stack deploy -> {self.state}", self.deployed_at, done),
            ("old tasks finishing, routes settling", done, self.deployed_at + self.settled_seconds),
        ]

    def line(self) -> str:
        """'update to v2: completed in 13.7s, settled in 26.1s; serving v2 x2; updating 0.1s, ...'."""
        seen = ", ".join(f"{state} {at:.1f}s" for state, at in self.states)
        return (
            f"update to {self.target}: {self.state} in {self.update_seconds:.1f}s "
            f"({self.message}), settled in {self.settled_seconds:.1f}s; serving "
            f"{self.final_version} x{len(self.routing.serving)}; states seen: {seen}"
        )


def _update_status(client: docker.DockerClient, cfg: SwarmConfig) -> dict[str, Any]:
    service = docker_sdk.swarm_service(client, cfg.app_service) or {}
    status: dict[str, Any] = service.get("UpdateStatus") or {}
    return status


def swarm_update(
    client: docker.DockerClient,
    cfg: SwarmConfig,
    version: str,
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> SwarmUpdate:
    """Roll the app service to `version` with Swarm's own rolling update (update_config in the
    stack file) and wait until it is done, rolled back or paused, then until the old tasks have
    exited and Traefik routes exactly what serves."""
    deadline = cfg.up_timeout if timeout is None else timeout
    before = current_version(client, cfg)
    if before is None:
        raise SwarmInputError(f"stack {cfg.stack!r} is not deployed: run `make swarm-up` first")
    if not docker_sdk.image_exists(client, cfg.image_of(version)):
        raise SwarmInputError(f"no image {cfg.image_of(version)} on this engine")
    if before == version and not extra_env:
        raise SwarmInputError(f"stack {cfg.stack!r} already runs {version}: nothing to update")
    started_before = _update_status(client, cfg).get("StartedAt")
    deployed_at = time.time()
    t0 = time.monotonic()
    stack_deploy(cfg, version, extra_env)

    states: list[tuple[str, float]] = []

    def done() -> dict[str, Any] | None:
        status = _update_status(client, cfg)
        fresh = status.get("StartedAt") not in (None, started_before)
        if fresh and (not states or states[-1][0] != status.get("State")):
            states.append((str(status.get("State")), time.monotonic() - t0))
        return status if fresh and status.get("State") in UPDATE_DONE else None

    status = wait_for(
        done,
        what=f"Swarm's update of {cfg.app_service} to {version} to end",
        timeout=deadline,
        interval=0.25,
        last_seen=lambda: str(_update_status(client, cfg)),
    )
    t1 = time.monotonic()
    final = current_version(client, cfg) or "?"
    routing = wait_settled(client, cfg, final, deadline)
    return SwarmUpdate(
        target=version,
        state=str(status.get("State")),
        message=str(status.get("Message", "")),
        update_seconds=t1 - t0,
        settled_seconds=time.monotonic() - t0,
        final_version=final,
        routing=routing,
        states=tuple(states),
        deployed_at=deployed_at,
    )


def swarm_down(client: docker.DockerClient, cfg: SwarmConfig, timeout: float = 120) -> bool:
    """Remove the stack (containers, networks, volumes), and leave swarm mode if the lab switched
    it on; True if it left."""
    if docker_sdk.swarm_active(client):
        stack_remove(client, cfg, timeout)
    return leave_swarm_if_ours(client, cfg)


def remove_leftover_stacks(
    client: docker.DockerClient, prefixes: tuple[str, ...], timeout: float = 120
) -> list[str]:
    """Remove the Swarm stacks killed test runs left (names starting with one of `prefixes`):
    their services, then, once their containers have exited, networks and volumes. Their names."""
    if not docker_sdk.swarm_active(client):
        return []
    stacks = {name for name in docker_sdk.swarm_stacks(client) if name and name.startswith(prefixes)}
    for name in sorted(stacks):
        _stack_command("rm", name)
    for name in sorted(stacks):
        wait_for(
            lambda name=name: (
                not docker_sdk.stack_containers(client, name)  # type: ignore[misc]
                and not docker_sdk.stack_networks(client, name)
            ),
            what=f"stack {name}'s containers and networks to go",
            timeout=timeout,
            interval=0.5,
        )
    return sorted(stacks)
