"""The three-node cluster's commands: up, rollout (Swarm's own rolling update), status, down."""

from __future__ import annotations

import argparse

import docker
from docker.errors import DockerException

from lab.cluster.config import ClusterConfig, load_cluster_config
from lab.cluster.stack import VERSIONS, cluster_down, cluster_up, manager_client, node_views
from lab.compose_lab import ensure_images
from lab.errors import SwarmInputError
from lab.swarm.routing import current_version, routing_now
from lab.swarm.update import swarm_update
from zerodrop.adapters.docker_sdk import connect
from zerodrop.errors import EXIT_FAILED, InputError
from zerodrop.target import ComposeTarget


def cmd_cluster_up(cfg: ComposeTarget, _: argparse.Namespace) -> int:
    """Build the app's images if needed, start the three nodes, form the Swarm, deploy, wait until
    Traefik routes every task."""
    cluster = load_cluster_config()
    host = connect()
    ensure_images(host, cfg, VERSIONS)
    print(f"cluster: starting {len(cluster.nodes)} Engine-26 nodes ({cluster.node_image})", flush=True)
    up = cluster_up(host, cluster)
    swarm = cluster.swarm
    print(
        f"cluster: nodes and Swarm {up.nodes_seconds:.1f}s (created {len(up.created)}), images "
        f"{up.images_seconds:.1f}s (into {len(up.loaded_into)} node(s)), deploy {up.deploy_seconds:.1f}s, "
        f"all routed {up.routed_seconds:.1f}s"
    )
    for view in node_views(manager_client(cluster), cluster):
        print(view.line())
    print(f"cluster: {up.routing.line()}")
    print(
        "\nThe cluster is up.\n"
        f"  app:         curl -i -H 'Host: {swarm.app_host}' {swarm.http_url}/health\n"
        f"  Traefik API: {swarm.api_url}/api/http/services/app@swarm\n"
        f"  its engine:  DOCKER_HOST={cluster.docker_host} docker node ls\n"
        "  roll / down: make cluster-rollout VERSION=v2 | make cluster-down"
    )
    return 0


def cmd_cluster_rollout(_: ComposeTarget, args: argparse.Namespace) -> int:
    """Roll the cluster's app to a version with Swarm's own rolling update."""
    if args.to not in VERSIONS:
        raise InputError(f"version {args.to!r}: the cluster's nodes hold {', '.join(VERSIONS)}")
    cluster = load_cluster_config()
    manager = _running_manager(cluster)
    update = swarm_update(manager, cluster.swarm, args.to)
    print(f"cluster: {update.line()}")
    for view in node_views(manager, cluster):
        print(view.line())
    return 0 if update.state == "completed" else EXIT_FAILED


def cmd_cluster_status(_: ComposeTarget, __: argparse.Namespace) -> int:
    """Each node's state, the app's tasks on it, and what Traefik routes."""
    cluster = load_cluster_config()
    manager = _running_manager(cluster)
    for view in node_views(manager, cluster):
        print(view.line())
    print(f"cluster: {routing_now(manager, cluster.swarm).line()}")
    return 0


def cmd_cluster_down(_: ComposeTarget, __: argparse.Namespace) -> int:
    """Remove the nodes and the cluster's network."""
    cluster = load_cluster_config()
    removed = cluster_down(connect(), cluster)
    print(f"cluster: {removed} node(s) removed, with their images, containers and volumes")
    return 0


def _running_manager(cluster: ClusterConfig) -> docker.DockerClient:
    """The manager's client; one line and exit 2 if the cluster is not up with its stack."""
    manager = manager_client(cluster)
    try:
        deployed = current_version(manager, cluster.swarm)
    except DockerException:
        deployed = None
    if deployed is None:
        raise SwarmInputError(f"cluster {cluster.name!r} is not up: run `make cluster-up`")
    return manager
