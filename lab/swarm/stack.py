"""The Swarm lab: the app as a Swarm service behind Traefik's swarm provider (docker-stack.yml),
rolled by Swarm's own rolling update. Up, update, down, and what Traefik routes, checked through
its API. Swarm mode is switched on only if it was off, and switched off again by `swarm_down`
(the engine is left as it was found)."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from lab.errors import SwarmInputError
from lab.swarm import engine
from lab.swarm.config import SwarmConfig
from lab.swarm.routing import SwarmRouting, wait_settled
from zerodrop.adapters import docker_sdk
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.errors import StackError
from zerodrop.waits import wait_for

INITIALISED_MARKER = "swarm-initialised-by-lab"  # in the state dir: `swarm-down` leaves swarm mode
GATEWAY_BRIDGE = "docker_gwbridge"  # the bridge `swarm init` creates for host-mode ports
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


def ensure_swarm(client: docker.DockerClient, cfg: SwarmConfig) -> bool:
    """Make the engine a single-node swarm if it is not one; True if this call did (and then a
    marker in the state dir remembers it, with whether docker_gwbridge existed before)."""
    if engine.swarm_active(client):
        return False
    address = default_route_address() if cfg.advertise_addr == "auto" else cfg.advertise_addr
    had_bridge = GATEWAY_BRIDGE in {n.name for n in client.networks.list(names=[GATEWAY_BRIDGE])}
    engine.swarm_init(client, address)
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
    if engine.swarm_active(client):
        if engine.swarm_stacks(client):
            return False  # someone else's services: leave the swarm to them
        engine.swarm_leave(client)
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
    detach = (
        ["--detach=true"] if "--detach" in _stack_command("deploy", "--help", env=cfg.docker_env()) else []
    )
    env = {**cfg.stack_env(version), **(extra_env or {}), **cfg.docker_env()}
    _stack_command(
        "deploy", "--resolve-image", "never", *detach, "-c", str(cfg.stack_file), cfg.stack, env=env
    )


def stack_remove(
    client: docker.DockerClient, cfg: SwarmConfig, timeout: float, *, kill: bool = False
) -> None:
    """`docker stack rm`, then wait (bounded) until its containers and networks are gone; with
    `kill`, its tasks are killed once their services are removed instead of stopped gracefully."""
    if engine.swarm_active(client) and cfg.stack in engine.swarm_stacks(client):
        _stack_command("rm", cfg.stack, env=cfg.docker_env())
    if kill:
        for container in engine.stack_containers(client, cfg.stack):
            with contextlib.suppress(docker.errors.APIError):  # gone or stopped meanwhile
                container.kill()
    wait_for(
        lambda: (
            not engine.stack_containers(client, cfg.stack) and not engine.stack_networks(client, cfg.stack)
        ),
        what=f"stack {cfg.stack}'s containers and networks to go",
        timeout=timeout,
        interval=0.5,
        last_seen=lambda: f"{len(engine.stack_containers(client, cfg.stack))} container(s) left",
    )
    for volume in client.volumes.list(filters={"label": f"{engine.STACK_LABEL}={cfg.stack}"}):
        volume.remove(force=True)


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


def swarm_down(client: docker.DockerClient, cfg: SwarmConfig, timeout: float = 120) -> bool:
    """Remove the stack (containers, networks, volumes), and leave swarm mode if the lab switched
    it on; True if it left."""
    if engine.swarm_active(client):
        stack_remove(client, cfg, timeout)
    return leave_swarm_if_ours(client, cfg)


def remove_leftover_stacks(
    client: docker.DockerClient, prefixes: tuple[str, ...], timeout: float = 120
) -> list[str]:
    """Remove the Swarm stacks killed test runs left (names starting with one of `prefixes`):
    their services, then, once their containers have exited, networks and volumes. Their names."""
    if not engine.swarm_active(client):
        return []
    stacks = {name for name in engine.swarm_stacks(client) if name and name.startswith(prefixes)}
    for name in sorted(stacks):
        _stack_command("rm", name)
    for name in sorted(stacks):
        wait_for(
            lambda name=name: (
                not engine.stack_containers(client, name)  # type: ignore[misc]
                and not engine.stack_networks(client, name)
            ),
            what=f"stack {name}'s containers and networks to go",
            timeout=timeout,
            interval=0.5,
        )
    return sorted(stacks)
