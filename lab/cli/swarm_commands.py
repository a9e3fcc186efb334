"""The Swarm lab's commands: up, rollout (Swarm's own rolling update), status, down."""

from __future__ import annotations

import argparse

from lab.compose_lab import ensure_images
from lab.swarm.config import load_swarm_config
from lab.swarm.engine import swarm_active
from lab.swarm.routing import current_version, routing_now, tasks
from lab.swarm.stack import swarm_down, swarm_up
from lab.swarm.update import swarm_update
from zerodrop.adapters.docker_sdk import connect
from zerodrop.errors import EXIT_FAILED, InputError
from zerodrop.rollout.plan import VERSION_PATTERN
from zerodrop.target import ComposeTarget


def cmd_swarm_up(cfg: ComposeTarget, _: argparse.Namespace) -> int:
    """Build v1 if needed, switch swarm mode on if it is off, deploy, wait until Traefik routes
    every task."""
    swarm = load_swarm_config()
    client = connect()
    ensure_images(client, cfg, ("v1",))
    print(
        f"swarm: deploying stack {swarm.stack!r} ({swarm.replicas} replicas, Traefik polls every "
        f"{swarm.refresh_seconds}s, lame duck {swarm.drain_seconds:g}s)",
        flush=True,
    )
    up = swarm_up(client, swarm, current_version(client, swarm) or "v1")
    if up.initialised:
        print("swarm: swarm mode switched on (`make swarm-down` switches it off again)")
    print(f"swarm: deploy {up.deploy_seconds:.1f}s, all routed {up.routed_seconds:.1f}s")
    print(f"swarm: {up.routing.line()}")
    print(
        "\nThe Swarm lab is up.\n"
        f"  app:         curl -i -H 'Host: {swarm.app_host}' {swarm.http_url}/health\n"
        f"  Traefik API: {swarm.api_url}/api/http/services/app@swarm\n"
        "  roll / down: make swarm-rollout VERSION=v2 | make swarm-down"
    )
    return 0


def cmd_swarm_rollout(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Build the version if needed and roll to it with Swarm's own rolling update."""
    if not VERSION_PATTERN.match(args.to):
        raise InputError(f"version {args.to!r} is not a valid image tag")
    swarm = load_swarm_config()
    client = connect()
    ensure_images(client, cfg, (args.to,))
    update = swarm_update(client, swarm, args.to)
    print(f"swarm: {update.line()}")
    print(f"swarm: {update.routing.line()}")
    return 0 if update.state == "completed" else EXIT_FAILED


def cmd_swarm_status(_: ComposeTarget, __: argparse.Namespace) -> int:
    """Swarm mode, the app's tasks, and what Traefik routes."""
    swarm = load_swarm_config()
    client = connect()
    if not swarm_active(client) or current_version(client, swarm) is None:
        print(f"swarm: stack {swarm.stack!r} is not deployed")
        return EXIT_FAILED
    for task in tasks(client, swarm):
        print(
            f"  slot {task.slot:<3} {task.id:<13} {task.version:<6} {task.state:<10} "
            f"desired {task.desired:<9} {task.ip}"
        )
    print(f"swarm: {routing_now(client, swarm).line()}")
    return 0


def cmd_swarm_down(_: ComposeTarget, __: argparse.Namespace) -> int:
    """Remove the stack; leave swarm mode if the lab switched it on."""
    swarm = load_swarm_config()
    client = connect()
    left = swarm_down(client, swarm)
    print(f"swarm: stack {swarm.stack!r} removed" + ("; swarm mode switched off again" if left else ""))
    return 0
