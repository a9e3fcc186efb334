"""Node faults on the three-node cluster, as the host can cause them: a worker node's container
killed (its engine, tasks and network gone at once), or cut off (every packet on its cluster
interface dropped inside the node) and healed. Each is timed: when Swarm marked the node down, when
a replacement task served and Traefik routed exactly the serving tasks, when the node was back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import docker

from lab.cluster.config import ClusterConfig
from lab.cluster.nodes import node_exec, wait_engines
from lab.cluster.stack import manager_client
from lab.swarm.routing import routing_now, tasks, wait_settled
from zerodrop.errors import TraefikUnavailable
from zerodrop.waits import wait_for

KILL, PARTITION = "kill", "partition"
NODE_DOWN_SECONDS = 60  # Swarm marks a silent node down after a few heartbeats (about 10 s by default)
REPLACED_SECONDS = 90  # a replacement task: scheduled at the node's down, healthy within its start
BACK_SECONDS = 120  # a restarted node's engine and its rejoin
# The node's rules that cut it off: every packet in or out on its interface on the cluster network.
CUT_RULES = (("INPUT", "-i"), ("OUTPUT", "-o"))
CLUSTER_INTERFACE = "eth0"


@dataclass
class NodeFault:
    """One fault on one node, with the wall-clock time (time.time, as the probe's records) of each
    step; 0 for a step not reached."""

    kind: str
    node: str
    at: float = 0.0  # the fault
    node_down: float = 0.0  # Swarm reports the node down
    listed_at_fault: frozenset[str] = frozenset()  # the servers Traefik listed just before the fault
    # The last look before Traefik first listed a server it did not list at the fault (the
    # replacement); a reload resets its health check, so failures may begin again from here.
    new_server: float = 0.0
    replaced: float = 0.0  # every replica serves on a live node and Traefik routes exactly those
    healed: float = 0.0  # node restarted or reconnected
    back: float = 0.0  # the node is ready again and the service settled
    notes: list[str] = field(default_factory=list)

    def seconds(self, step: float) -> float | None:
        """Seconds from the fault to a step, or None if it was not reached."""
        return round(step - self.at, 2) if step else None

    def line(self) -> str:
        """'kill NODE: down after 11.0s, replaced after 19.8s, back after 41.2s (healed at 30.0s)'."""
        parts = [
            f"node marked down after {self.seconds(self.node_down)}s",
            f"a new server listed by Traefik after {self.seconds(self.new_server)}s (or later)",
            f"replacement serving and routed after {self.seconds(self.replaced)}s",
            f"healed at {self.seconds(self.healed)}s",
            f"node ready and service settled after {self.seconds(self.back)}s",
        ]
        return f"{self.kind} {self.node}: " + ", ".join(parts) + "".join(f"; {n}" for n in self.notes)


def node_names(manager: docker.DockerClient) -> dict[str, str]:
    """Every node's hostname, by node id, as the manager reports them."""
    nodes = manager.nodes.list()  # type: ignore[no-untyped-call]
    return {str(node.id): str(node.attrs["Description"]["Hostname"]) for node in nodes}


def node_state(manager: docker.DockerClient, hostname: str) -> str:
    """A node's state as the manager reports it: ready, down, unknown, disconnected."""
    for node in manager.nodes.list():  # type: ignore[no-untyped-call]
        if node.attrs["Description"]["Hostname"] == hostname:
            return str(node.attrs["Status"]["State"])
    return "missing"


def wait_node_state(cfg: ClusterConfig, node: str, state: str, timeout: float) -> None:
    """Wait until the manager reports the node in `state`."""
    manager = manager_client(cfg)
    wait_for(
        lambda: node_state(manager, node) == state,
        what=f"Swarm to report {node} {state}",
        timeout=timeout,
        interval=0.25,
        last_seen=lambda: node_state(manager, node),
    )


def fault_target(cfg: ClusterConfig) -> str:
    """The worker a fault should hit: one that runs app tasks (Swarm does not move tasks back to a
    node that returns, so after a fault a worker may run none), the fewest if several do."""
    manager = manager_client(cfg)
    names = node_names(manager)
    counts = {worker: 0 for worker in cfg.workers}
    for task in tasks(manager, cfg.swarm):
        if task.serving and names.get(task.node_id) in counts:
            counts[names[task.node_id]] += 1
    running = [w for w in cfg.workers if counts[w]]
    if not running:
        raise RuntimeError(f"no worker runs an app task: {counts}")
    return min(running, key=lambda w: counts[w])


def cause(host: docker.DockerClient, cfg: ClusterConfig, fault: NodeFault) -> None:
    """Kill the node's container, or cut its cluster interface off inside it."""
    fault.listed_at_fault = frozenset(routing_now(manager_client(cfg), cfg.swarm).routed)
    fault.at = time.time()
    if fault.kind == KILL:
        host.containers.get(fault.node).kill()
    else:
        for chain, direction in CUT_RULES:
            node_exec(
                host, fault.node, "iptables", "-I", chain, "1", direction, CLUSTER_INTERFACE, "-j", "DROP"
            )


def heal(host: docker.DockerClient, cfg: ClusterConfig, fault: NodeFault) -> None:
    """Start the killed node again (its engine rejoins the Swarm with its state), or delete the
    rules that cut it off."""
    fault.healed = time.time()
    if fault.kind == KILL:
        host.containers.get(fault.node).start()
        wait_engines(host, (fault.node,), BACK_SECONDS)
    else:
        for chain, direction in CUT_RULES:
            rule = (chain, direction, CLUSTER_INTERFACE, "-j", "DROP")
            node_exec(host, fault.node, "iptables", "-D", *rule)


def wait_node_down(cfg: ClusterConfig, fault: NodeFault) -> None:
    """Wait until the manager reports the node down; note when."""
    wait_node_state(cfg, fault.node, "down", NODE_DOWN_SECONDS)
    fault.node_down = time.time()


def wait_replaced(cfg: ClusterConfig, fault: NodeFault) -> None:
    """Wait until at least every replica serves on a node other than the faulty one and Traefik
    routes exactly those tasks; note when."""
    manager = manager_client(cfg)
    down_ids = {node_id for node_id, name in node_names(manager).items() if name == fault.node}

    last_look = [fault.node_down]

    def replaced() -> bool:
        serving = [t for t in tasks(manager, cfg.swarm) if t.serving and t.node_id not in down_ids]
        looked = time.time()
        routing = routing_now(manager, cfg.swarm)
        if not fault.new_server and routing.routed - fault.listed_at_fault:
            fault.new_server = last_look[0]  # Traefik listed it after the look before this one
        last_look[0] = looked
        return (  # at least: a start-first update stalled by the fault keeps one extra task
            len(serving) >= cfg.swarm.replicas and {t.ip for t in serving} == routing.routed
        )

    wait_for(
        replaced,
        what=f"{cfg.swarm.replicas} tasks serving off {fault.node}, routed by Traefik",
        timeout=REPLACED_SECONDS,
        interval=0.25,
        last_seen=lambda: routing_now(manager, cfg.swarm).line(),
        transient=(TraefikUnavailable,),
    )
    fault.replaced = time.time()


def wait_back(cfg: ClusterConfig, fault: NodeFault, version: str) -> None:
    """Wait until the node is ready again and the service has settled: every replica of `version`
    serving, routed, and no other task running; note when."""
    wait_node_state(cfg, fault.node, "ready", BACK_SECONDS)
    wait_settled(manager_client(cfg), cfg.swarm, version, BACK_SECONDS)
    fault.back = time.time()
