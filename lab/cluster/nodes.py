"""The cluster's nodes: Engine-26 containers on the host's engine, on a network of their own,
formed into one Swarm (a manager and two workers), with the lab's images loaded into each."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from lab.cluster.config import CLUSTER_LABEL, NODE_DOCKER_PORT, ClusterConfig
from lab.errors import SwarmInputError
from zerodrop.errors import OperationFailed, StackError
from zerodrop.parallel import each
from zerodrop.waits import wait_for

# Why each `docker run` option (the node runs dockerd, which needs most of what --privileged gives;
# on hosts whose capability set lacks CAP_SYS_RESOURCE, --privileged itself fails, and Engine 20.10
# ignores --cap-drop beside it). The CLI, not the SDK: systempaths=unconfined is the CLI's.
NODE_RUN_OPTIONS = (
    *("--cap-add", "ALL"),  # dockerd inside needs network, mount and cgroup administration
    *("--cap-drop", "SYS_RESOURCE"),  # ... but not a capability the host may not have to give
    # No seccomp or AppArmor filter, /proc and /sys not masked: dockerd mounts and unshares.
    *("--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"),
    *("--security-opt", "systempaths=unconfined"),
    *("--device-cgroup-rule", "a *:* rwm"),  # the node's containers create devices (/dev/null, ...)
    # No resolver: nothing inside looks up a registry (there is none here; every image is loaded).
    *("--dns", "127.0.0.1"),
)


# How often a node reports to the manager (Swarm's default 5 s). A node that misses about two
# beats is marked down and its tasks are started elsewhere: 2 s brings that from ~10 s to ~4 s.
# Shorter would mark a merely busy node down. Traefik's health check, not this, bounds the
# window of failed requests (docker-stack.yml).
DISPATCHER_HEARTBEAT = "2s"


def node_container(client: docker.DockerClient, name: str) -> Container | None:
    """A node's container on the host's engine, or None."""
    try:
        return client.containers.get(name)
    except NotFound:
        return None


def node_exec(client: docker.DockerClient, node: str, *command: str) -> str:
    """Run a command in a node's container and return its output; StackError on failure."""
    container = node_container(client, node)
    if container is None:
        raise StackError(f"node {node} does not exist: run `make cluster-up`")
    try:
        code, output = container.exec_run(list(command))
    except APIError as error:  # not running (yet, or any more)
        raise StackError(f"`{' '.join(command)}` on {node}: {error.explanation}") from None
    text = output.decode(errors="replace").strip() if isinstance(output, bytes) else ""
    if code != 0:
        raise StackError(f"`{' '.join(command)}` on {node} failed (exit {code}): {text[-400:]}")
    return text


def start_nodes(client: docker.DockerClient, cfg: ClusterConfig) -> list[str]:
    """The cluster's network and node containers, created or started where missing or stopped;
    the names of the nodes this call created."""
    try:
        client.images.get(cfg.node_image)
    except NotFound:
        raise SwarmInputError(
            f"no node image {cfg.node_image}: run scripts/build-cluster-node-image.sh"
        ) from None
    if not client.networks.list(names=[cfg.network]):
        client.networks.create(cfg.network, driver="bridge", labels={CLUSTER_LABEL: cfg.name})
    created = []
    for node in cfg.nodes:
        container = node_container(client, node)
        if container is None:
            published = _published(cfg) if node == cfg.manager else []
            run_node(cfg.node_image, node, cfg.network, {CLUSTER_LABEL: cfg.name}, published)
            created.append(node)
        elif container.status != "running":
            container.start()
    return created


def _published(cfg: ClusterConfig) -> list[tuple[int, int]]:
    """What the manager publishes: Traefik's two ports and its Docker API."""
    swarm = cfg.swarm
    return [
        (swarm.http_port, swarm.http_port),
        (swarm.api_port, swarm.api_port),
        (cfg.docker_port, NODE_DOCKER_PORT),
    ]


def run_node(
    image: str, name: str, network: str, labels: dict[str, str], published: list[tuple[int, int]]
) -> None:
    """`docker run` one node: an engine in a container on `network`, each (host, node) port pair
    published on the host's 127.0.0.1 only."""
    ports = [f"--publish=127.0.0.1:{host}:{inside}" for host, inside in published]
    tags = [f"--label={key}={value}" for key, value in labels.items()]
    _docker(
        "run", "--detach", *NODE_RUN_OPTIONS, *ports, *tags,
        f"--name={name}", f"--hostname={name}", f"--network={network}", image,
    )  # fmt: skip


def wait_engines(client: docker.DockerClient, nodes: tuple[str, ...], timeout: float) -> None:
    """Wait until every node's Docker engine answers; StackError at once for a node whose
    container exited (with its last log line)."""

    def answer(node: str) -> str | None:
        container = node_container(client, node)
        if container is None or container.status == "exited":
            last = container.logs(tail=1).decode(errors="replace").strip() if container else "removed"
            raise OperationFailed(f"node {node} exited: {last}")  # not transient: fail at once
        return node_exec(client, node, "docker", "version", "--format", "{{.Server.Version}}")

    def answers(node: str) -> str:
        return wait_for(
            lambda: answer(node),
            what=f"the Docker engine in {node}",
            timeout=timeout,
            interval=0.5,
            transient=(StackError,),
        )

    each(answers, nodes)


def node_address(client: docker.DockerClient, cfg: ClusterConfig, node: str) -> str:
    """A node's IPv4 address on the cluster's network."""
    container = node_container(client, node)
    networks = container.attrs["NetworkSettings"]["Networks"] if container else {}
    if cfg.network not in networks:
        raise StackError(f"node {node} is not on {cfg.network}")
    return str(networks[cfg.network]["IPAddress"])


def form_swarm(client: docker.DockerClient, cfg: ClusterConfig) -> None:
    """Make the manager a Swarm manager and the workers join it, where not done yet; label each
    node `zone=<its name>`, which the stack's spread preference places by."""
    state = "{{.Swarm.LocalNodeState}}"
    manager_ip = node_address(client, cfg, cfg.manager)
    if node_exec(client, cfg.manager, "docker", "info", "--format", state) != "active":
        node_exec(
            client, cfg.manager, "docker", "swarm", "init", "--advertise-addr", manager_ip,
            "--dispatcher-heartbeat", DISPATCHER_HEARTBEAT,
        )  # fmt: skip
    token = node_exec(client, cfg.manager, "docker", "swarm", "join-token", "-q", "worker")
    for worker in cfg.workers:
        if node_exec(client, worker, "docker", "info", "--format", state) != "active":
            node_exec(client, worker, "docker", "swarm", "join", "--token", token, f"{manager_ip}:2377")
    for node in cfg.nodes:
        node_exec(client, cfg.manager, "docker", "node", "update", "--label-add", f"zone={node}", node)


def load_images(client: docker.DockerClient, nodes: tuple[str, ...], images: list[str]) -> list[str]:
    """Copy the images a node lacks from the host's engine into it (`docker save` once, `docker
    load` into each node at once): no registry is involved. The nodes that were given any."""
    missing = {node: [i for i in images if not _node_has(client, node, i)] for node in nodes}
    wanting = [node for node, lacking in missing.items() if lacking]
    if not wanting:
        return []
    with tempfile.TemporaryDirectory(prefix="zerodrop-cluster-") as scratch:
        archive = Path(scratch) / "images.tar"
        needed = sorted({i for lacking in missing.values() for i in lacking})
        _docker("save", "-o", str(archive), *needed)
        each(lambda node: _load_into(node, archive), wanting)
    return wanting


def _node_has(client: docker.DockerClient, node: str, image: str) -> bool:
    try:
        node_exec(client, node, "docker", "image", "inspect", "--format", "{{.Id}}", image)
    except StackError:
        return False
    return True


def _load_into(node: str, archive: Path) -> None:
    with archive.open("rb") as stdin:
        _docker("exec", "-i", node, "docker", "load", "-q", stdin=stdin)


def _docker(*args: str, stdin: object = None) -> None:
    result = subprocess.run(
        ["docker", *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,  # type: ignore[call-overload]
    )
    if result.returncode != 0:
        raise StackError(f"`docker {args[0]}` failed: {result.stderr.strip()[-400:]}")


def remove_nodes(client: docker.DockerClient, cfg: ClusterConfig) -> int:
    """Remove the node containers (with their volumes: every image and container inside) and the
    cluster's network; how many nodes there were."""
    nodes = client.containers.list(all=True, filters={"label": f"{CLUSTER_LABEL}={cfg.name}"})
    each(lambda node: node.remove(force=True, v=True), nodes)
    for network in client.networks.list(filters={"label": f"{CLUSTER_LABEL}={cfg.name}"}):
        network.remove()
    return len(nodes)


def remove_leftover_clusters(client: docker.DockerClient, prefixes: tuple[str, ...]) -> list[str]:
    """Remove the clusters killed test runs left (names starting with one of `prefixes`): their
    node containers, with volumes, and networks. Their names."""
    names: set[str] = set()
    for container in client.containers.list(all=True, filters={"label": CLUSTER_LABEL}):
        name = str(container.labels.get(CLUSTER_LABEL, ""))
        if name.startswith(prefixes):
            names.add(name)
            container.remove(force=True, v=True)
    for network in client.networks.list(filters={"label": CLUSTER_LABEL}):
        if str((network.attrs.get("Labels") or {}).get(CLUSTER_LABEL, "")).startswith(prefixes):
            network.remove()
    return sorted(names)
