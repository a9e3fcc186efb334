"""Measuring one cell of the strategies bench: a private stack, the probe around the strategy,
the peak of running containers, the write check; and a plan of cells run in turn."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import docker

from bench.strategy_kinds import HIGH_LOAD, STRATEGIES, STREAMS_LOAD, Run
from bench.strategy_plot import plot
from bench.strategy_rows import Cell, Row, table
from lab.compose_lab import ensure_images, private_project
from lab.config import load_config
from lab.under_load import default_probe_options, measure_under_load
from zerodrop.adapters.docker_sdk import connect, service_containers
from zerodrop.errors import first_line
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.measure.records import RequestRecord
from zerodrop.measure.writes import final_write_check
from zerodrop.target import ComposeTarget

PEAK_SAMPLE_SECONDS = 0.2


class PeakSampler:
    """Counts the service's running containers every PEAK_SAMPLE_SECONDS until stopped (bounded)."""

    def __init__(self, client: docker.DockerClient, cfg: ComposeTarget, bound: float = 3600.0) -> None:
        self.client, self.cfg, self.bound = client, cfg, bound
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-sampler", daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.bound
        while not self._stop.is_set() and time.monotonic() < deadline:
            running = service_containers(self.client, self.cfg.project, self.cfg.service)
            self.peak = max(self.peak, len(running))
            self._stop.wait(PEAK_SAMPLE_SECONDS)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def probe_options(cfg: ComposeTarget, load: str) -> ProbeOptions:
    """The probe's default load (holding streams with STREAMS_LOAD), or 1,000 GET/s + 100 POST/s."""
    options = default_probe_options(cfg, duration=1800.0, streams=load == STREAMS_LOAD)
    return options if load != HIGH_LOAD else replace(options, short_rate=1000.0, write_rate=100.0)


def run_one(client: docker.DockerClient, base: ComposeTarget, cell: Cell) -> Row:
    """One strategy on a fresh stack under one load and healthcheck interval: its row."""
    strategy, load = cell.strategy, cell.load
    row = Row(strategy, load, cell.interval, cell.replicas)
    variables = {"APP_HEALTH_INTERVAL": cell.interval, **dict(cell.variables)}
    with private_project(client, base, "zdbench", variables, replicas=cell.replicas) as cfg:
        run = Run(client, cfg)
        row.project = cfg.project
        started: list[float] = []
        started_at: list[float] = []

        def action() -> None:
            started_at.append(time.time())
            started.append(time.monotonic())
            STRATEGIES[cell.runs_as or strategy](run)
            row.seconds = time.monotonic() - started[0]

        with PeakSampler(client, cfg) as sampler:
            measured = measure_under_load(action, probe_options(cfg, load), out=lambda _: None,
                                          expected_errors=(Exception,))  # fmt: skip
        if measured.error is not None:
            row.error = first_line(measured.error, limit=120)
            row.seconds = time.monotonic() - started[0] if started and not row.seconds else row.seconds
        probe = measured.probe
        writes = final_write_check(client, cfg.project, cfg.service, probe.acked_event_ids())
    row.old_busy = old_replicas_busy_until(probe.records, run.target, started_at[0]) if started_at else None
    row.requests = len(probe.records)
    row.failed = len(probe.failures)
    row.failures = probe.failure_kinds()
    row.writes_acked, row.writes_lost = writes.acked, len(writes.missing)
    row.floor, row.peak, row.exit_code = run.floor, sampler.peak, run.exit_code
    if run.cost is not None:
        row.tool_cpu, row.tool_peak_mib = run.cost.cpu_own + run.cost.cpu_children, run.cost.peak_mib
    streams = probe.streams_report()
    if streams is not None:
        row.streams, row.handed_over = streams.lanes, streams.handovers
        row.streams_dropped, row.longest_silence = dict(streams.drops), streams.longest_silence
    return row


def old_replicas_busy_until(records: list[RequestRecord], target: str, started_at: float) -> float | None:
    """When the last request an old replica answered ended, in seconds after the strategy began:
    no strategy that drops nothing can end before it (plus the old replica's own exit)."""
    ends = [r.end for r in records if r.version and r.version != target and r.end]
    return max(ends) - started_at if ends else None


def run_plan(
    cells: list[Cell],
    out_dir: Path,
    *,
    base: ComposeTarget | None = None,
    echo: Callable[[str], None] = print,
    draw: bool = True,
) -> list[Row]:
    """Run every cell in turn, writing the table, the rows and (with `draw`) the plot as they come."""
    client = connect()
    base = base or load_config()
    ensure_images(client, base)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    for number, cell in enumerate(cells, 1):
        started = time.monotonic()
        row = run_one(client, base, cell)
        rows.append(row)
        echo(f"bench [{number}/{len(cells)}] {' | '.join(row.cells())}  ({time.monotonic() - started:.0f}s)")
        (out_dir / "strategies.json").write_text(json.dumps([asdict(r) for r in rows], indent=1))
        (out_dir / "strategies.md").write_text(table(rows) + "\n")
    if draw:
        plot(rows, out_dir / "strategies.png")
    return rows
