"""Engine 26's start_interval beside Engine 20.10: the compose lab's rollout (v1 -> v2, healthcheck
interval 30 s, Docker's default) under the probe (`lab demo`: 4 long requests, 20 GET/s, 10 POST/s,
4 SSE streams and 2 WebSockets), each way overlapped (the default) and sequential (--no-overlap):
- on the host's engine (20.10 here: no start_interval, compose refuses the key), 2 replicas;
- on an Engine-26 node (the cluster's node image, a container on the host), without it, 2 replicas;
- on the same node with docker-compose.start-interval.yml (start_interval 1 s), 2 and 4 replicas.

    make bench-start-interval        (about 20 minutes)

The lab reaches the node's engine through its Docker API, published on 127.0.0.1 (DOCKER_HOST),
and its Traefik through ports the node publishes on 127.0.0.1 (bench/overrides/engine-node-ports.yml).
For each run: failed requests and dropped streams, the rollout's total, its floor, and where the
time goes, per replica, from its phase log (start>healthy, healthy>routed, drain>out).
Out: out/bench/start-interval.{md,json}.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from statistics import mean

from lab.cluster.config import load_cluster_config
from lab.cluster.nodes import load_images, node_container, node_exec, run_node, wait_engines
from lab.cluster.stack import DEFAULT_TRAEFIK_IMAGE
from lab.compose_lab import ensure_images, free_loopback_port
from lab.config import REPO_ROOT, load_config
from zerodrop.adapters.docker_sdk import connect

NODE = "zdbench-engine26"
INTERVAL = "30s"
PHASES = ("start-to-healthy", "healthy-to-routed", "drain-to-out")
START_INTERVAL_FILE = "docker-compose.start-interval.yml"
NODE_PORTS_FILE = "bench/overrides/engine-node-ports.yml"


def lab(env: dict[str, str], *args: str) -> str:
    """`python -m lab ARGS` with `env`; its output (raises on failure)."""
    done = subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench-start-interval: lab {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def phase_means(log: Path) -> dict[str, float]:
    """Mean seconds of each phase over the replicas, from a rollout's phase log."""
    seen: dict[str, list[float]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["event"] == "end" and record["phase"] in PHASES:
            seen.setdefault(record["phase"], []).append(record["end"] - record["start"])
    return {phase: round(mean(values), 2) for phase, values in seen.items()}


def one_run(label: str, env: dict[str, str], scratch: Path, *, overlap: bool = True) -> dict[str, object]:
    """Up, roll to v2 under the probe, down, on a private project; the figures."""
    log = scratch / f"{uuid.uuid4().hex[:6]}.jsonl"
    label = f"{label}, {'overlapped' if overlap else 'sequential'}"
    print(f"bench-start-interval: {label}", flush=True)
    try:
        lab(env, "up", "--no-build")
        out = lab(
            env,
            "demo",
            "--to",
            "v2",
            "--no-build",
            "--log",
            str(log),
            *(() if overlap else ("--no-overlap",)),
        )
    finally:
        lab(env, "down")
    total = re.search(r"^total ([\d.]+)s", out, re.M)
    floor = re.search(r"^floor ([\d.]+)s", out, re.M)
    probe = re.search(r"^probe: .*?(\d+) requests .*failed (\d+)", out, re.M)
    streams = re.search(r"^streams: .*dropped: ([^;]+); longest silence ([\d.]+)s", out, re.M)
    row: dict[str, object] = {
        "run": label,
        "replicas": int(env["APP_REPLICAS"]),
        "failed": f"{probe.group(2)} / {probe.group(1)}" if probe else None,
        "streams_dropped": streams.group(1) if streams else None,
        "rollout_seconds": float(total.group(1)) if total else None,
        "floor_seconds": float(floor.group(1)) if floor else None,
        **phase_means(log),
    }
    print(f"  {row}", flush=True)
    return row


def table(rows: list[dict[str, object]]) -> str:
    """The Markdown table."""
    head = (
        "| run | N | failed / requests | streams dropped | rollout | floor | start>healthy | healthy>routed "
        "| drain>out |\n" + "|---" * 9 + "|\n"
    )
    return head + "".join(
        f"| {r['run']} | {r['replicas']} | {r['failed']} | {r['streams_dropped']} | {r['rollout_seconds']} s "
        f"| {r['floor_seconds']} s | {r.get('start-to-healthy')} s | {r.get('healthy-to-routed')} s "
        f"| {r.get('drain-to-out')} s |\n"
        for r in rows
    )


def start_node(images: list[str], published: list[tuple[int, int]]) -> str:
    """The Engine-26 node, started on a network of its own with `images` loaded; its version."""
    host = connect()
    host.networks.create(f"{NODE}-net", labels={"zerodrop.bench": NODE})
    run_node(load_cluster_config().node_image, NODE, f"{NODE}-net", {"zerodrop.bench": NODE}, published)
    wait_engines(host, (NODE,), 120)
    load_images(host, (NODE,), images)
    return node_exec(host, NODE, "docker", "version", "--format", "{{.Server.Version}}")


def remove_node() -> None:
    """The node and its network, gone."""
    host = connect()
    container = node_container(host, NODE)
    if container is not None:
        container.remove(force=True, v=True)
    for network in host.networks.list(names=[f"{NODE}-net"]):
        network.remove()


def common_env(scratch: Path, replicas: int) -> dict[str, str]:
    """What every run shares: the 30 s interval, the replicas, a scratch state and output folder."""
    return {
        **os.environ, "APP_HEALTH_INTERVAL": INTERVAL, "APP_REPLICAS": str(replicas),
        "LAB_STATE_DIR": str(scratch / "start-interval-state"), "LAB_OUT_DIR": str(scratch),
    }  # fmt: skip


def node_rows(
    scratch: Path, runs: list[tuple[str, str]], replicas: int = 2, *, schedules: tuple[bool, ...] = (True,)
) -> list[dict[str, object]]:
    """On a fresh Engine-26 node, one run per (label, extra compose files) and schedule (overlap
    or not); the node is removed."""
    base = load_config()
    http, api, dockerd = free_loopback_port(), free_loopback_port(), free_loopback_port()
    traefik = load_cluster_config().swarm.passthrough.get("TRAEFIK_IMAGE") or DEFAULT_TRAEFIK_IMAGE
    try:
        images = [base.image_of("v1"), base.image_of("v2"), traefik]
        engine = start_node(images, [(http, http), (api, api), (dockerd, 2375)])
        on_node = {
            **common_env(scratch, replicas), "DOCKER_HOST": f"tcp://127.0.0.1:{dockerd}",
            "LAB_PROJECT": "zdbench-e26", "LAB_HTTP_PORT": str(http), "LAB_API_PORT": str(api),
        }  # fmt: skip
        return [
            one_run(
                f"engine {engine}, {label}", {**on_node, "LAB_COMPOSE_FILE": files}, scratch, overlap=overlap
            )
            for label, files in runs
            for overlap in schedules
        ]
    finally:
        remove_node()


ON_NODE = f"docker-compose.yml:{NODE_PORTS_FILE}"
WITHOUT = (f"interval {INTERVAL}", ON_NODE)
WITH = (f"interval {INTERVAL}, start_interval 1s", f"{ON_NODE}:{START_INTERVAL_FILE}")
BOTH = (False, True)  # sequential, then overlapped


def main() -> None:
    """Run on the host's engine, then twice on an Engine-26 node; write and print the table."""
    host = connect()
    base = load_config()
    ensure_images(host, base, ("v1", "v2"))
    scratch = base.out_dir / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    on_host = {
        **common_env(scratch, 2), "LAB_PROJECT": f"zdbench-{uuid.uuid4().hex[:6]}",
        "LAB_HTTP_PORT": str(free_loopback_port()), "LAB_API_PORT": str(free_loopback_port()),
    }  # fmt: skip
    label = f"host engine {host.version()['Version']}, interval {INTERVAL}"
    rows = [one_run(label, on_host, scratch, overlap=overlap) for overlap in BOTH]
    rows += node_rows(scratch, [WITHOUT, WITH], schedules=BOTH)
    rows += node_rows(scratch, [WITH], replicas=4, schedules=BOTH)
    (scratch / "start-interval.md").write_text(table(rows), encoding="utf-8")
    (scratch / "start-interval.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print("\n" + table(rows))


if __name__ == "__main__":
    main()
