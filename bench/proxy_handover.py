"""Replacing Traefik itself under load: what each way of handing its listening port over costs,
measured side by side on the lab app (2 replicas) under the probe (4 long requests, 20 GET/s,
10 POST/s, 4 SSE streams and 2 WebSockets), a fresh private stack per row:

- `docker compose up -d --force-recreate traefik`: the naive way, on the lab's own Traefik (its
  port published by the engine);
- two Traefik processes on one port, with `reusePort`: a second Traefik (the replacement) binds
  the port beside the first, its API on a port of its own; once its API lists the app's router
  and both servers, the first gets SIGTERM (`docker stop`): it keeps accepting for
  `requestAcceptGraceTimeout`, closes its listener, and finishes what it has within
  `graceTimeOut`. Connections the kernel queued on the first listener and nobody accepted are
  reset when it closes, unless `net.ipv4.tcp_migrate_req` is 1 (Linux 5.14+), which moves them
  to the other listener: each row says which. Two places for the port:
  - on the host's network (both Traefiks bind 127.0.0.1:PORT; the sysctl is the host's, set for
    the row and put back);
  - in one network namespace that an anchor container holds (a process that only waits, on the
    app's network, publishing the port on 127.0.0.1 the ordinary way); both Traefiks join it
    (`network_mode: container:ANCHOR`) and bind :80; the sysctl is the anchor's own.

    make bench-proxy-handover            (about 8 minutes; sets net.ipv4.tcp_migrate_req and
                                          puts it back as it was)
    .venv/bin/python bench/proxy_handover.py --smoke    (one row: the anchor's namespace, migrate on)

Traffic goes only to 127.0.0.1 (the edge Traefiks listen there). Out: out/bench/proxy-handover.{md,json}.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import docker

from bench.bench_output import markdown_table, write_results
from bench.proxy_edges import MIGRATE, Place, anchored_place, host_place, remove_edges, start_edge, sysctl
from lab.compose_lab import private_project
from lab.config import load_config
from lab.fresh_connections import fresh_connections
from lab.under_load import default_probe_options, measure_under_load
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import connect
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.target import ComposeTarget

RECREATE = "docker compose up -d --force-recreate traefik"
REUSEPORT = "two Traefiks on the host's network (reusePort), SIGTERM to the old"
ANCHORED = "two Traefiks in an anchor's network namespace (reusePort), SIGTERM to the old"
STEERED = "the same, the anchor steering new connections to the oldest Traefik (rollout-proxy's way)"


@dataclass(frozen=True)
class Variant:
    """One row's way, and the settings it runs with."""

    way: str
    migrate: int | None = None  # net.ipv4.tcp_migrate_req during the row (None: not touched)
    accept_grace: float = 0.0  # the old Traefik's requestAcceptGraceTimeout, seconds

    def label(self) -> str:
        """'two Traefiks ..., migrate 1, accept grace 2s'."""
        if self.way == RECREATE:
            return self.way
        return f"{self.way}, {MIGRATE.rsplit('.', 1)[-1]} {self.migrate}, accept grace {self.accept_grace:g}s"


@dataclass
class Row:
    """What one row measured."""

    variant: str
    requests: int = 0
    failed: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    streams: int = 0
    handed_over: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    fresh: int = 0  # requests on fresh connections beside the probe
    fresh_failed: dict[str, int] = field(default_factory=dict)

    def cells(self) -> list[str]:
        """The row as Markdown cells."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items())) or "none"
        dropped = ", ".join(f"{k} {n}" for k, n in sorted(self.dropped.items())) or "none"
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in self.phases.items())
        fresh = ", ".join(f"{k} {n}" for k, n in sorted(self.fresh_failed.items())) or "none"
        return [self.variant, f"{self.failed} / {self.requests}", kinds,
                f"{sum(self.fresh_failed.values())} / {self.fresh} ({fresh})",
                f"{self.streams}, {self.handed_over}, {dropped}", phases]  # fmt: skip


def hand_over(
    client: docker.DockerClient, cfg: ComposeTarget, place: Place, *, old: str, variant: Variant
) -> dict[str, float]:
    """Start the replacement beside `old`, then stop `old`; each phase's seconds."""
    began = time.monotonic()
    start_edge(client, cfg, place, variant.accept_grace)
    loaded = time.monotonic()
    client.containers.get(old).stop(timeout=40)
    stopped = time.monotonic()
    return {"new routes loaded": loaded - began, "old stopped": stopped - loaded}


def recreate(cfg: ComposeTarget) -> dict[str, float]:
    """compose's own recreate of the lab's Traefik; its seconds."""
    began = time.monotonic()
    compose.run_compose(cfg, "up", "-d", "--force-recreate", "--no-deps", "traefik", timeout=120)
    return {"recreate": time.monotonic() - began}


def run_one(client: docker.DockerClient, variant: Variant, *, streams: bool = True) -> Row:
    """A fresh lab stack, the way under the probe (holding streams unless not `streams`), torn
    down (edges and anchor removed)."""
    on_host = variant.migrate if variant.way == REUSEPORT else None
    with private_project(client, load_config(), "zdbench-proxy", {}) as cfg, sysctl(MIGRATE, on_host):
        try:
            options = default_probe_options(cfg, streams=streams)
            act: Callable[[], dict[str, float]]
            if variant.way == RECREATE:
                act = lambda: recreate(cfg)  # noqa: E731
            else:
                place, port = (
                    host_place()
                    if variant.way == REUSEPORT
                    else anchored_place(client, cfg, variant.migrate or 0, steer=variant.way == STEERED)
                )
                first = start_edge(client, cfg, place, variant.accept_grace)
                options = replace(options, base_url=f"http://127.0.0.1:{port}")
                act = lambda: hand_over(client, cfg, place, old=first, variant=variant)  # noqa: E731
            with fresh_connections(options_port(options), cfg.app_host) as fresh:
                measured = measure_under_load(act, options, out=lambda _: None)
        finally:
            remove_edges(client, cfg.project)
    row = row_of(variant, measured.probe, measured.value or {})
    row.fresh = fresh.requests
    row.fresh_failed = {k: n for k, n in fresh.results.items() if k != "200"}
    return row


def options_port(options: ProbeOptions) -> int:
    """The port the probe sends to (Traefik's, or the edge's, on 127.0.0.1)."""
    return int(options.base_url.rsplit(":", 1)[1])


def row_of(variant: Variant, probe: ProbeResult, phases: dict[str, float]) -> Row:
    """The row's figures from the probe's records."""
    report = probe.streams_report()
    return Row(
        variant.label(), len(probe.records), len(probe.failures), probe.failure_kinds(),
        report.lanes if report else 0, report.handovers if report else 0,
        dict(report.drops) if report else {}, phases,
    )  # fmt: skip


PLAN = (
    Variant(RECREATE),
    Variant(REUSEPORT, migrate=0, accept_grace=0),
    Variant(REUSEPORT, migrate=1, accept_grace=0),
    Variant(REUSEPORT, migrate=1, accept_grace=2),
    Variant(ANCHORED, migrate=0, accept_grace=0),
    Variant(ANCHORED, migrate=1, accept_grace=0),
    Variant(STEERED, migrate=1, accept_grace=0),
)
SMOKE = PLAN[-1]  # the steering anchor's namespace, migrate on: the tool's way
HEADER = ("way", "failed / requests", "failures by kind", "fresh connections failed / sent",
          "streams held, handed over, dropped", "phases")  # fmt: skip


def table(rows: list[Row]) -> str:
    """The Markdown table."""
    return markdown_table(HEADER, [r.cells() for r in rows])


def main() -> None:
    """Run every row (or the smoke's), print the table, write it and the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="one row: the anchor's namespace, migrate on")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out_dir = args.out or load_config().out_dir / "bench"
    client = connect()
    rows = []
    for variant in (SMOKE,) if args.smoke else PLAN:
        rows.append(run_one(client, variant))
        print(" | ".join(rows[-1].cells()), flush=True)
    write_results(out_dir, "proxy-handover", table(rows), [asdict(r) for r in rows])
    print(table(rows))


if __name__ == "__main__":
    main()
