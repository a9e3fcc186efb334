"""The three-node cluster of lab/cluster/ (its nodes run the image cluster-node/ builds) under the
probe, in one run: Swarm's rolling update across the nodes (broken, then fixed), then node faults
on a worker that runs app tasks: killed at rest, cut off at rest (every packet on its cluster
interface dropped inside it) then healed, and killed in the middle of an update.

    make bench-cluster        (about 6 minutes; a private cluster, removed at the end)

Load: 4 long 15 s requests, 20 GET/s, 10 POST/s through the cluster's Traefik on 127.0.0.1.
For each fault: failures by kind, when they began (seconds from the fault), when Swarm marked
the node down, when a replacement task served and Traefik routed exactly the serving tasks, and
when the node was back with the service settled. Out: out/bench/cluster.{md,json} and a timeline
PNG per run (cluster-<n>.png).
"""

from __future__ import annotations

import json
import os
import uuid

from lab.cluster.config import load_cluster_config
from lab.cluster.faults import KILL, PARTITION, NodeFault, fault_target
from lab.cluster.measure import ClusterMeasurement, measure_broken_and_fixed, measure_fault, with_lame_duck
from lab.cluster.stack import VERSIONS, cluster_down, cluster_up
from lab.compose_lab import ensure_images, free_loopback_port
from lab.config import load_config
from zerodrop.adapters.docker_sdk import connect
from zerodrop.measure.timeline import plot_timeline

HOLD_SECONDS = 25  # how long a fault lasts before the node is started again or reconnected


def cell(value: object, unit: str = " s") -> str:
    """A table cell: the value with its unit, or '-'."""
    return "-" if value is None else f"{value}{unit}"


def table(rows: list[ClusterMeasurement]) -> str:
    """The Markdown table of a run."""
    lines = [
        "| run | failed / total | failures by kind | failures began (from the fault) | node down "
        "| replacement routed | node back, settled | Swarm's update |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        figures = row.to_json()
        kinds = ", ".join(f"{k} {n}" for k, n in row.probe.failure_kinds().items()) or "-"
        window = row.failure_window()
        began = f"{window[0]} s to {window[1]} s" if window else "-"
        update = row.update.line().split(";")[0] if row.update else row.update_state or "-"
        lines.append(
            f"| {row.label} | {row.failed} / {row.total} | {kinds} | {began} "
            f"| {cell(figures['node_down_seconds'])} | {cell(figures['replaced_seconds'])} "
            f"| {cell(figures['back_seconds'])} | {update} |"
        )
    return "\n".join(lines) + "\n"


def spans(row: ClusterMeasurement) -> list[tuple[str, float, float]]:
    """The fault's steps as wall-clock spans for the timeline (or the update's)."""
    if row.update:
        return row.update.spans()
    f = row.fault
    if f is None:
        return []
    steps = [
        ("fault -> node marked down", f.at, f.node_down),
        ("-> replacement routed", f.node_down, f.replaced),
        ("healed -> node back, settled", f.healed, f.back),
    ]
    return [(name, start, end) for name, start, end in steps if start and end]


def main() -> None:
    """Bring a private cluster up, run the updates and the faults, write the table, remove it."""
    host = connect()
    ensure_images(host, load_config(), VERSIONS)
    env = {
        **os.environ, "CLUSTER_NAME": f"zdcluster-bench{uuid.uuid4().hex[:4]}",
        "CLUSTER_HTTP_PORT": str(free_loopback_port()), "CLUSTER_API_PORT": str(free_loopback_port()),
        "CLUSTER_DOCKER_PORT": str(free_loopback_port()),
    }  # fmt: skip
    cfg = load_cluster_config(env)
    out = cfg.swarm.out_dir / "bench"
    out.mkdir(parents=True, exist_ok=True)
    rows: list[ClusterMeasurement] = []

    def note(row: ClusterMeasurement) -> None:
        rows.append(row)
        print("\n".join(row.lines()), flush=True)

    try:
        up = cluster_up(host, cfg)
        print(
            f"bench-cluster: up in {up.nodes_seconds + up.images_seconds + up.routed_seconds:.1f}s",
            flush=True,
        )
        for row in measure_broken_and_fixed(cfg, out=lambda _: None):
            note(row)
        with_lame_duck(cfg, None)  # back to v1, fixed
        for kind in (KILL, PARTITION):
            note(
                measure_fault(
                    host, cfg, NodeFault(kind, fault_target(cfg)), hold=HOLD_SECONDS, out=lambda _: None
                )
            )
        with_lame_duck(cfg, None)
        mid = NodeFault(KILL, fault_target(cfg))
        note(measure_fault(host, cfg, mid, hold=HOLD_SECONDS, mid_update=True, out=lambda _: None))
    finally:
        cluster_down(host, cfg)
    (out / "cluster.md").write_text(table(rows), encoding="utf-8")
    (out / "cluster.json").write_text(json.dumps([r.to_json() for r in rows], indent=2), encoding="utf-8")
    for number, row in enumerate(rows, 1):
        title = f"cluster, {row.label}: failed {row.failed}/{row.total}"
        plot_timeline(row.probe, [], out / f"cluster-{number}.png", title=title, spans=spans(row))
    print("\n" + table(rows))
    print(f"bench-cluster: wrote {out / 'cluster.md'}, {out / 'cluster.json'} and cluster-1..{len(rows)}.png")


if __name__ == "__main__":
    main()
