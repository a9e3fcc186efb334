"""The three-node cluster (`make cluster-up|cluster-rollout|cluster-status|cluster-down`): Engine-26
nodes in containers, one Swarm, the Swarm lab's stack spread over it, Traefik on the manager
reached at 127.0.0.1 only. Up is idempotent; down leaves nothing behind."""

from __future__ import annotations

import time
from dataclasses import dataclass

import docker
from docker.errors import NotFound

from lab.cluster.config import ClusterConfig
from lab.cluster.nodes import form_swarm, load_images, remove_nodes, start_nodes, wait_engines
from lab.errors import SwarmInputError
from lab.swarm.routing import SwarmRouting, current_version, tasks
from lab.swarm.stack import swarm_up

ENGINE_START_SECONDS = 120  # a node's dockerd answers in a few seconds; a cold host's disk is slower
VERSIONS = ("v1", "v2", "v3")  # the app images every node holds (v3 never gets healthy in tests)
DEFAULT_TRAEFIK_IMAGE = "traefik:v3.7.15"  # docker-stack.yml's default


def manager_client(cfg: ClusterConfig) -> docker.DockerClient:
    """A Docker client of the cluster's manager (its API published on 127.0.0.1)."""
    return docker.DockerClient(base_url=cfg.docker_host, timeout=30)


def cluster_images(cfg: ClusterConfig) -> list[str]:
    """The images the nodes need: the app's versions and the stack's Traefik."""
    traefik = cfg.swarm.passthrough.get("TRAEFIK_IMAGE") or DEFAULT_TRAEFIK_IMAGE
    return [*(cfg.swarm.image_of(v) for v in VERSIONS), traefik]


@dataclass(frozen=True)
class ClusterUp:
    """What `cluster_up` did and how long each part took."""

    created: list[str]
    loaded_into: list[str]
    nodes_seconds: float  # node containers started -> every engine answers, Swarm formed
    images_seconds: float
    deploy_seconds: float
    routed_seconds: float
    routing: SwarmRouting


def cluster_up(host: docker.DockerClient, cfg: ClusterConfig, version: str = "v1") -> ClusterUp:
    """Start the nodes, form the Swarm, load the images, deploy the stack at `version` (or the
    version it runs), and wait until Traefik routes every task. Missing images on the host are
    bad input: the caller builds them."""
    for image in cluster_images(cfg):
        try:
            host.images.get(image)
        except NotFound:
            raise SwarmInputError(f"no image {image} on the host's engine: run `make lab-up` first") from None
    t0 = time.monotonic()
    created = start_nodes(host, cfg)
    wait_engines(host, cfg.nodes, ENGINE_START_SECONDS)
    form_swarm(host, cfg)
    t1 = time.monotonic()
    loaded = load_images(host, cfg.nodes, cluster_images(cfg))
    t2 = time.monotonic()
    manager = manager_client(cfg)
    up = swarm_up(manager, cfg.swarm, current_version(manager, cfg.swarm) or version)
    return ClusterUp(created, loaded, t1 - t0, t2 - t1, up.deploy_seconds, up.routed_seconds, up.routing)


@dataclass(frozen=True)
class NodeView:
    """One Swarm node as the manager sees it, and the app tasks it runs."""

    hostname: str
    role: str
    state: str  # ready, down, unknown
    availability: str
    tasks: list[str]  # "v1 10.0.1.5" per running app task

    def line(self) -> str:
        """'NAME-worker1  worker   ready  active  v1 10.0.1.5'."""
        on = ", ".join(self.tasks) or "no app task"
        return f"  {self.hostname:<20} {self.role:<8} {self.state:<8} {self.availability:<7} {on}"


def node_views(manager: docker.DockerClient, cfg: ClusterConfig) -> list[NodeView]:
    """Every node, its state, and the app's serving tasks on it."""
    by_node: dict[str, list[str]] = {}
    for task in tasks(manager, cfg.swarm):
        if task.serving:
            by_node.setdefault(task.node_id, []).append(f"{task.version} {task.ip}")
    views = []
    for node in manager.nodes.list():  # type: ignore[no-untyped-call]
        attrs = node.attrs
        views.append(
            NodeView(
                hostname=str(attrs["Description"]["Hostname"]),
                role=str(attrs["Spec"]["Role"]),
                state=str(attrs["Status"]["State"]),
                availability=str(attrs["Spec"]["Availability"]),
                tasks=sorted(by_node.get(str(node.id), [])),
            )
        )
    return sorted(views, key=lambda v: (v.role != "manager", v.hostname))


def cluster_down(host: docker.DockerClient, cfg: ClusterConfig) -> int:
    """Remove every node (and so the Swarm, its stack and images) and the cluster's network; how
    many nodes there were."""
    return remove_nodes(host, cfg)
