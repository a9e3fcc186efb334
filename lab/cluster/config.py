"""The three-node cluster's settings (`make cluster-up`): its node containers on the host's engine,
and the Swarm lab's stack as it is deployed on the cluster's manager."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lab.config import PROJECT_NAME, REPO_ROOT, matching, port_number, setting_reader, whole_number
from lab.swarm.config import SwarmConfig, load_swarm_config

CLUSTER_LABEL = "zerodrop.cluster"  # on every node container and the cluster's network: its name
WORKERS = 2  # one manager and two workers: the smallest cluster where a worker can fail
NODE_DOCKER_PORT = 2375  # each node's Docker API inside the cluster network (published: manager's)


@dataclass(frozen=True)
class ClusterConfig:
    """Resolved settings of the three-node cluster."""

    name: str
    node_image: str
    docker_port: int
    swarm: SwarmConfig  # the stack on the cluster: its ports are the host's 127.0.0.1 ports

    @property
    def manager(self) -> str:
        """The manager node's container name (and hostname)."""
        return f"{self.name}-manager"

    @property
    def workers(self) -> tuple[str, ...]:
        """The worker nodes' container names (and hostnames)."""
        return tuple(f"{self.name}-worker{i}" for i in range(1, WORKERS + 1))

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node's container name, the manager first."""
        return (self.manager, *self.workers)

    @property
    def network(self) -> str:
        """The host bridge network the nodes share (Swarm's overlay runs over it)."""
        return f"{self.name}-net"

    @property
    def docker_host(self) -> str:
        """The manager's Docker API as the host reaches it."""
        return f"tcp://127.0.0.1:{self.docker_port}"

    def with_swarm(self, **changes: object) -> ClusterConfig:
        """A copy whose stack settings are changed (a variant's poll, a private stack name)."""
        return replace(self, swarm=self.swarm.with_overrides(**changes))


def load_cluster_config(environ: dict[str, str] | None = None, root: Path = REPO_ROOT) -> ClusterConfig:
    """The cluster's settings from the environment, the repo's `.env` and lab.config's defaults.
    The stack is the Swarm lab's, with the cluster's ports, poll and lame duck."""
    get = setting_reader(environ, root)
    name = matching("CLUSTER_NAME", get("CLUSTER_NAME"), PROJECT_NAME, "a name (a-z, 0-9, _, -)")
    docker_port = port_number("CLUSTER_DOCKER_PORT", get("CLUSTER_DOCKER_PORT"))
    refresh = whole_number("CLUSTER_REFRESH_SECONDS", get("CLUSTER_REFRESH_SECONDS"), 1)
    swarm = (
        load_swarm_config(environ, root)
        .with_refresh(refresh)
        .with_overrides(
            stack=name,
            http_port=port_number("CLUSTER_HTTP_PORT", get("CLUSTER_HTTP_PORT")),
            api_port=port_number("CLUSTER_API_PORT", get("CLUSTER_API_PORT")),
            replicas=3,
            docker_host=f"tcp://127.0.0.1:{docker_port}",
        )
    )
    return ClusterConfig(
        name=name, node_image=get("CLUSTER_NODE_IMAGE"), docker_port=docker_port, swarm=swarm
    )
