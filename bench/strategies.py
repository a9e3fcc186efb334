"""Rollout strategies side by side, in one run, on fresh stacks under the same load.

    make bench-strategies                    (the whole matrix, about an hour; leaves nothing running)
    .venv/bin/python bench/strategies.py --smoke      (one cell: two strategies, about 2 minutes)
    make bench-head-to-head     (the recipe against --max-surge N where it drops nothing, ~15 min)

Strategies, each rolling a fresh 2-replica v1 stack to v2:
- recreate-all: `docker compose up -d` with the new version;
- manual recipe: scale up with --no-recreate, wait until the new replicas are routed,
  `docker stop -t 30` the old ones, remove them, scale back;
- drain + sleep 10: start every new replica at once, wait until Docker calls them healthy (as
  `compose up --wait` does), set the drain flag on the old ones, `sleep 10`, stop and remove them:
  the widely documented recipe;
- lab rollout, one at a time; lab rollout with --max-surge N.
At two loads (the probe's default: 4 long requests, 20 GET/s, 10 POST/s; and 1,000 GET/s +
100 POST/s) and three healthcheck intervals (1 s, 10 s and Docker's default 30 s). Then the lab's
two modes at N = 2, 4, 8 replicas (1 s interval, default load): rollout time against its floor.

Each run: a private stack, the probe's baseline, the strategy, answers after it, then every
replica stopped gracefully and every acknowledged write looked up on the volume. Output in
out/bench/: strategies.md (the table), strategies.json (every row), strategies.png (the plot).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import docker

from lab.compose_lab import ensure_images, private_project, wait_all_routed
from lab.config import load_config
from lab.lab_app import lab_platform
from lab.under_load import default_probe_options, measure_under_load
from lab.workshop.actions import stop_all
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import connect, get_container, replicas, send_signal, service_containers
from zerodrop.errors import EXIT_CUT, EXIT_OK, first_line
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.measure.records import RequestRecord
from zerodrop.measure.report import rollout_floor
from zerodrop.measure.writes import final_write_check
from zerodrop.model import Release, is_ready
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

RECIPE_SLEEP = 10.0  # the documented recipe's fixed `sleep 10` between the drain flag and the stop
RECIPE_STOP_GRACE = 30  # the manual recipe's `docker stop -t 30`
WAIT_BOUND = 900.0  # no strategy step waits longer than this for replicas to be routed or healthy
PEAK_SAMPLE_SECONDS = 0.2

RECREATE, RECIPE, DRAIN_SLEEP, ONE, SURGE = (
    "recreate-all",
    "manual recipe",
    "drain + sleep 10",
    "lab rollout, 1 at a time",
    "lab rollout, --max-surge N",
)
DEFAULT_LOAD, HIGH_LOAD = "20 GET/s", "1000 GET/s"
STREAMS_LOAD = "20 GET/s + streams"  # the default load holding 4 SSE streams and 2 WebSockets too


@dataclass
class Run:
    """One strategy's stack and what it reports back."""

    client: docker.DockerClient
    cfg: ComposeTarget
    target: str = "v2"
    floor: float | None = None
    exit_code: int | None = None  # the lab rollout's exit status (0 done, 3 done with cut work)


@dataclass
class Row:
    """One cell of the matrix."""

    strategy: str
    load: str
    interval: str
    replicas: int
    requests: int = 0
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    writes_acked: int = 0
    writes_lost: int = 0
    seconds: float = 0.0
    floor: float | None = None
    old_busy: float | None = None  # the last answer from an old replica, seconds after the start
    peak: int = 0
    error: str | None = None
    project: str = ""  # the stack's compose project: its rollout log is out/<project>.rollout.jsonl
    streams: int = 0  # streams the probe held (0 unless the load holds streams)
    handed_over: int = 0  # stream endings that were clean handovers
    streams_dropped: dict[str, int] = field(default_factory=dict)  # the others, by kind
    longest_silence: float = 0.0  # the longest a stream's client went without an event, seconds
    exit_code: int | None = None  # the lab rollout's exit status; None for the other strategies

    def cells(self) -> list[str]:
        """The row's Markdown cells."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.failures.items())) or "-"
        floor = f"{self.floor:.1f} s" if self.floor else "-"
        busy = f"{self.old_busy:.1f} s" if self.old_busy is not None else "-"
        status = f" ({self.error})" if self.error else ""
        return [
            self.strategy + status,
            self.load,
            self.interval,
            str(self.replicas),
            f"{self.failed} / {self.requests}",
            kinds,
            f"{self.writes_lost} / {self.writes_acked}",
            f"{self.seconds:.1f} s",
            floor,
            busy,
            str(self.peak),
        ]


HEADER = [
    "strategy",
    "load",
    "healthcheck",
    "N",
    "failed / requests",
    "failures by kind",
    "writes lost / acked",
    "rollout time",
    "floor",
    "old replicas' last answer",
    "peak containers",
]


# --- the strategies ---------------------------------------------------------------------------


def recreate_all(run: Run) -> None:
    """`docker compose up -d` with the new version: compose recreates every replica."""
    compose.up(run.cfg, "--no-build", extra_env={"APP_VERSION": run.target})
    wait_all_routed(run.client, run.cfg, run.cfg.replicas, timeout=WAIT_BOUND)


def _scale_up_new(run: Run) -> list[str]:
    """Start as many new replicas as there are old ones; the old ones' ids."""
    old = [r.id for r in replicas(run.client, run.cfg.project, run.cfg.service)]
    compose.scale(run.cfg, 2 * len(old), extra_env={"APP_VERSION": run.target})
    return old


def _stop_and_remove(run: Run, old: list[str], grace: int | None) -> None:
    containers = [c for replica_id in old if (c := get_container(run.client, replica_id)) is not None]
    stop_all(containers, timeout=grace)
    for container in containers:
        container.remove(force=True)
    compose.scale(run.cfg, run.cfg.replicas, extra_env={"APP_VERSION": run.target})


def manual_recipe(run: Run) -> None:
    """Scale up, wait until Traefik routes the new ones, docker stop -t 30 the old, scale back."""
    old = _scale_up_new(run)
    wait_all_routed(run.client, run.cfg, 2 * len(old), timeout=WAIT_BOUND)
    _stop_and_remove(run, old, RECIPE_STOP_GRACE)


def drain_and_sleep(run: Run) -> None:
    """Start every new replica, wait until Docker calls them healthy, drain flag, sleep 10, stop."""
    old = _scale_up_new(run)

    def new_ones_healthy() -> bool:
        new = [r for r in replicas(run.client, run.cfg.project, run.cfg.service) if r.id not in old]
        return len(new) == len(old) and all(is_ready(r.health) for r in new)

    wait_for(new_ones_healthy, what="the new replicas healthy", timeout=WAIT_BOUND, interval=0.5)
    for replica_id in old:
        container = get_container(run.client, replica_id)
        if container is not None:
            send_signal(container, "SIGUSR1")  # the app's drain flag: readiness fails, serving goes on
    time.sleep(RECIPE_SLEEP)  # the recipe's fixed guess, the very thing this strategy measures
    _stop_and_remove(run, old, None)


def lab_rollout(max_surge: Callable[[ComposeTarget], int]) -> Callable[[Run], None]:
    """The lab's own rollout with the given batch size; it reports its floor."""

    def roll(run: Run) -> None:
        options = RolloutOptions(Release(run.target), max_surge=max_surge(run.cfg), build=False)
        log_path = run.cfg.out_dir / f"{run.cfg.project}.rollout.jsonl"
        result = execute_rollout(
            lab_platform(run.client, run.cfg), run.cfg, options, log_path, lambda _: None
        )
        run.floor = rollout_floor(result)
        run.exit_code = EXIT_CUT if result.cut else EXIT_OK

    return roll


STRATEGIES: dict[str, Callable[[Run], None]] = {
    RECREATE: recreate_all,
    RECIPE: manual_recipe,
    DRAIN_SLEEP: drain_and_sleep,
    ONE: lab_rollout(lambda cfg: 1),
    SURGE: lab_rollout(lambda cfg: cfg.replicas),
}


@dataclass(frozen=True)
class Cell:
    """One run to make."""

    strategy: str
    load: str
    interval: str
    replicas: int = 2
    runs_as: str = ""  # the strategy it runs, when `strategy` names a variant of one
    variables: tuple[tuple[str, str], ...] = ()  # compose variables of the variant's stack


# --- measuring one run ------------------------------------------------------------------------


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


# --- the plan, the table, the plot ------------------------------------------------------------


def full_plan() -> list[Cell]:
    """Every strategy at both loads and three intervals, then the lab's modes at N = 2, 4, 8."""
    cells = [
        Cell(strategy, load, interval)
        for interval in ("1s", "10s", "30s")
        for load in (DEFAULT_LOAD, HIGH_LOAD)
        for strategy in STRATEGIES
    ]
    cells += [Cell(mode, DEFAULT_LOAD, "1s", n) for n in (4, 8) for mode in (ONE, SURGE)]
    return cells


def head_to_head_plan() -> list[Cell]:
    """The issue's target, alone: the documented recipe against --max-surge N in every cell where
    the recipe can drop nothing (1 s and 10 s healthchecks, both loads)."""
    return [
        Cell(strategy, load, interval)
        for interval in ("1s", "10s")
        for load in (DEFAULT_LOAD, HIGH_LOAD)
        for strategy in (DRAIN_SLEEP, SURGE)
    ]


def head_to_head_summary(rows: list[Row]) -> str:
    """Per cell of the head-to-head: each strategy's median rollout time over the repeats, its
    failed requests in all, when the old replicas answered last (median) and the lab's margin."""
    import statistics

    def median(values: list[float | None]) -> str:
        known = [v for v in values if v is not None]
        return f"{statistics.median(known):.1f} s" if known else "-"

    lines = [
        "| load | healthcheck | runs | drain + sleep 10: median (all) | failed | old replicas' last answer "
        "| --max-surge N: median (all) | failed | old replicas' last answer | --max-surge N faster by |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((r.load, r.interval) for r in rows))
    for load, interval in keys:
        recipe = [r for r in rows if (r.load, r.interval, r.strategy) == (load, interval, DRAIN_SLEEP)]
        ours = [r for r in rows if (r.load, r.interval, r.strategy) == (load, interval, SURGE)]
        if not recipe or not ours:
            continue
        a = statistics.median(r.seconds for r in recipe)
        b = statistics.median(r.seconds for r in ours)

        def runs(group: list[Row]) -> str:
            return ", ".join(f"{r.seconds:.1f}" for r in group)

        lines.append(
            f"| {load} | {interval} | {len(recipe)} + {len(ours)} | {a:.1f} s ({runs(recipe)}) "
            f"| {sum(r.failed for r in recipe)} | {median([r.old_busy for r in recipe])} "
            f"| {b:.1f} s ({runs(ours)}) | {sum(r.failed for r in ours)} "
            f"| {median([r.old_busy for r in ours])} "
            f"| {a - b:+.1f} s |"
        )
    return "\n".join(lines)


def smoke_plan() -> list[Cell]:
    """The CI's taste of it: the documented recipe and the lab's --max-surge N, one cell."""
    return [Cell(DRAIN_SLEEP, DEFAULT_LOAD, "1s"), Cell(SURGE, DEFAULT_LOAD, "1s")]


def table(rows: list[Row]) -> str:
    """The Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


# One colour per strategy in both panels; one line style per load.
STRATEGY_COLOURS = {RECREATE: "tab:red", RECIPE: "tab:orange", DRAIN_SLEEP: "tab:purple",
                    ONE: "tab:blue", SURGE: "tab:green"}  # fmt: skip
LOAD_STYLES = {DEFAULT_LOAD: ("o", "-", "full"), HIGH_LOAD: ("s", ":", "none")}  # marker, line, fill


def plot(rows: list[Row], path: Path) -> Path:
    """Rollout time against N (with the floor), and failed requests against the healthcheck
    interval per strategy and load: one colour per strategy, one line style per load; strategies
    that drop nothing are drawn side by side at 0, not on top of one another."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, (by_n, by_interval) = plt.subplots(1, 2, figsize=(14, 5.5), width_ratios=[1, 1.3])
    for mode in (ONE, SURGE):
        colour = STRATEGY_COLOURS[mode]
        cells = sorted(
            (r for r in rows if r.strategy == mode and r.interval == "1s" and r.load == DEFAULT_LOAD),
            key=lambda r: r.replicas,
        )
        if cells:
            by_n.plot([r.replicas for r in cells], [r.seconds for r in cells], "o-", color=colour, label=mode)
            floors = [(r.replicas, r.floor) for r in cells if r.floor]
            by_n.plot(
                [n for n, _ in floors], [f for _, f in floors], "x--", color=colour, label=f"{mode}: floor"
            )
    by_n.set(
        xlabel="replicas (N)", ylabel="rollout time (s)", title="Rollout time against N (1 s healthcheck)"
    )
    by_n.legend(fontsize=8, loc="upper left")
    intervals = ["1s", "10s", "30s"]
    offsets = {s: (i - (len(STRATEGIES) - 1) / 2) * 0.07 for i, s in enumerate(STRATEGIES)}
    for strategy in STRATEGIES:
        for load, (marker, line, fill) in LOAD_STYLES.items():
            at = {r.interval: r for r in rows if (r.strategy, r.load, r.replicas) == (strategy, load, 2)}
            xs = [n for n, i in enumerate(intervals) if i in at]
            if xs:
                share = [100 * at[intervals[n]].failed / max(1, at[intervals[n]].requests) for n in xs]
                shift = offsets[strategy] + (0.025 if fill == "none" else -0.025)
                by_interval.plot(
                    [n + shift for n in xs], share, marker=marker, ls=line, markersize=7,
                    color=STRATEGY_COLOURS[strategy], label=f"{strategy}, {load}",
                    **({"markerfacecolor": "white"} if fill == "none" else {}),
                )  # fmt: skip
    by_interval.set_xticks(range(len(intervals)), intervals)
    by_interval.set(xlabel="healthcheck interval", ylabel="failed requests (%)",
                    title="Failures against the healthcheck interval (N = 2)")  # fmt: skip
    by_interval.set_yscale("symlog", linthresh=0.1)
    by_interval.set_ylim(-0.02, 150)
    by_interval.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    by_interval.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rows_from_table(markdown: str) -> list[Row]:
    """The rows of a strategies table as this bench writes it (to re-plot a published run)."""
    rows: list[Row] = []
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(HEADER) or cells[0] in {HEADER[0], "---"} or set(cells[0]) <= {"-"}:
            continue
        failed, requests = (int(x) for x in cells[4].split(" / "))
        lost, acked = (int(x) for x in cells[6].split(" / "))
        kinds = {k: int(n) for k, n in (p.rsplit(" ", 1) for p in cells[5].split(", ") if p != "-")}
        rows.append(
            Row(
                cells[0], cells[1], cells[2], int(cells[3]), requests, failed, kinds, acked, lost,
                float(cells[7].removesuffix(" s")),
                float(cells[8].removesuffix(" s")) if cells[8] != "-" else None,
                float(cells[9].removesuffix(" s")) if cells[9] != "-" else None,
                int(cells[10]),
            )
        )  # fmt: skip
    return rows


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


def main() -> None:
    """Run the matrix (or its smoke cell) and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    plans = parser.add_mutually_exclusive_group()
    plans.add_argument("--smoke", action="store_true", help="one cell: drain + sleep 10 and --max-surge N")
    plans.add_argument(
        "--head-to-head",
        action="store_true",
        help="the recipe against --max-surge N: 1 s and 10 s healthchecks, both loads (~10 min a round)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the plan, interleaved (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default out/bench)")
    plans.add_argument(
        "--replot", type=Path, metavar="MARKDOWN", help="no run: draw strategies.png from a published table"
    )
    args = parser.parse_args()
    out_dir = args.out or load_config().out_dir / "bench"
    if args.replot:
        rows = rows_from_table(args.replot.read_text(encoding="utf-8"))
        print(f"bench: {len(rows)} rows -> {plot(rows, out_dir / 'strategies.png')}")
        return
    plan = smoke_plan() if args.smoke else head_to_head_plan() if args.head_to_head else full_plan()
    rows = run_plan(plan * max(1, args.repeat), out_dir, echo=lambda line: print(line, flush=True))
    print(table(rows))
    if args.head_to_head:
        summary = head_to_head_summary(rows)
        (out_dir / "head-to-head.md").write_text(summary + "\n", encoding="utf-8")
        print(summary)
    print(f"bench: table, rows and plot in {out_dir}/")


if __name__ == "__main__":
    main()
