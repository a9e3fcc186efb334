"""Docker in swarm mode, through the SDK: the node, a stack's services, tasks, containers and networks."""

from __future__ import annotations

from typing import Any

import docker
from docker.errors import NotFound
from docker.models.containers import Container

STACK_LABEL = "com.docker.stack.namespace"


SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"


def swarm_active(client: docker.DockerClient) -> bool:
    """Whether this engine is a Swarm node now."""
    return str((client.info().get("Swarm") or {}).get("LocalNodeState", "")) == "active"


def swarm_init(client: docker.DockerClient, advertise_addr: str | None) -> None:
    """Make this engine a single-node swarm (a manager), advertising `advertise_addr` if given."""
    client.swarm.init(advertise_addr=advertise_addr)


def swarm_leave(client: docker.DockerClient) -> None:
    """Take this engine out of swarm mode (forced: it is the only manager)."""
    client.swarm.leave(force=True)


def swarm_service(client: docker.DockerClient, name: str) -> dict[str, Any] | None:
    """A Swarm service's inspect document, or None if there is no such service."""
    try:
        attrs: dict[str, Any] = client.services.get(name).attrs  # type: ignore[no-untyped-call]
    except NotFound:
        return None
    return attrs


def swarm_tasks(client: docker.DockerClient, service: str) -> list[dict[str, Any]]:
    """Every task Swarm keeps for a service (running, starting, shut down), as inspect documents."""
    try:
        tasks: list[dict[str, Any]] = client.services.get(service).tasks()  # type: ignore[no-untyped-call]
    except NotFound:
        return []
    return tasks


def swarm_stacks(client: docker.DockerClient) -> dict[str, int]:
    """Every stack with services on this swarm, and how many services each has (a service no
    stack made counts under "")."""
    counts: dict[str, int] = {}
    for service in client.services.list():  # type: ignore[no-untyped-call]
        name = str((service.attrs["Spec"].get("Labels") or {}).get(STACK_LABEL, ""))
        counts[name] = counts.get(name, 0) + 1
    return counts


def stack_containers(client: docker.DockerClient, stack: str, service: str | None = None) -> list[Container]:
    """Containers of a Swarm stack (optionally of one of its services, by full name), any state."""
    labels = [f"{STACK_LABEL}={stack}"]
    if service:
        labels.append(f"{SWARM_SERVICE_LABEL}={service}")
    return list(client.containers.list(all=True, filters={"label": labels}, ignore_removed=True))


def stack_networks(client: docker.DockerClient, stack: str) -> list[str]:
    """Names of the networks a Swarm stack created."""
    return [n.name or "" for n in client.networks.list(filters={"label": f"{STACK_LABEL}={stack}"})]
