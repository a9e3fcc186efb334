"""Rollouts at Docker's default healthcheck interval (30 s), side by side in one run, under the
probe (4 long requests, 20 GET/s, 10 POST/s, 4 SSE streams and 2 WebSockets):
- the lab's rollout one at a time, overlapped (the default: the next batch starts as soon as this
  batch's new replica is routed, while its old one leaves rotation);
- the same, sequential (--no-overlap: the schedule before overlap);
- docker-rollout's documented drain recipe, done by this bench: every new replica at once, then
  drain the old ones and sleep longer than interval x retries + the longest request (45 s here).
At 2 and 4 replicas, each on a fresh private stack on this host's engine.

    make bench-defaults            (about 25 minutes)
    .venv/bin/python bench/defaults.py --smoke    (the overlapped rollout, 2 replicas, 2 s interval)

Out: out/bench/defaults.{md,json}; each row names its rollout's phase log (out/<project>...).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from bench.strategy_kinds import DRAIN_SLEEP_DOCUMENTED, ONE, ONE_SEQUENTIAL, STREAMS_LOAD
from bench.strategy_rows import Cell, Row
from bench.strategy_runs import run_plan
from lab.config import load_config

INTERVAL = "30s"
HEADER = (
    "N", "strategy", "failed / requests", "streams held, handed over, dropped", "longest silence",
    "rollout time", "floor", "exit", "rollout's CPU, memory",
)  # fmt: skip


def plan(smoke: bool) -> list[Cell]:
    """Every strategy at 2 and 4 replicas, interval 30 s; or the smoke's overlapped rollout."""
    if smoke:
        return [Cell(ONE, STREAMS_LOAD, "2s", 2)]
    return [
        Cell(s, STREAMS_LOAD, INTERVAL, n)
        for n in (2, 4)
        for s in (ONE, ONE_SEQUENTIAL, DRAIN_SLEEP_DOCUMENTED)
    ]


def cells(row: Row) -> list[str]:
    """One row's Markdown cells."""
    dropped = sum(row.streams_dropped.values())
    status = f" ({row.error})" if row.error else ""
    return [
        str(row.replicas),
        row.strategy + status,
        f"{row.failed} / {row.requests}",
        f"{row.streams}, {row.handed_over}, {dropped}",
        f"{row.longest_silence:.2f} s",
        f"{row.seconds:.1f} s",
        f"{row.floor:.1f} s" if row.floor else "-",
        "-" if row.exit_code is None else str(row.exit_code),
        f"{row.tool_cpu:.1f} s, {row.tool_peak_mib:.0f} MiB" if row.tool_cpu is not None else "-",
    ]


def table(rows: list[Row]) -> str:
    """The Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    return "\n".join(lines + ["| " + " | ".join(cells(r)) + " |" for r in rows])


def main() -> None:
    """Run the plan (or its smoke) and write and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="the overlapped rollout, 2 replicas, 2 s interval"
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default out/bench)")
    args = parser.parse_args()
    out_dir = args.out or load_config().out_dir / "bench"
    rows = run_plan(
        plan(args.smoke), out_dir / "defaults-runs", echo=lambda line: print(line, flush=True), draw=False
    )
    (out_dir / "defaults.md").write_text(table(rows) + "\n", encoding="utf-8")
    (out_dir / "defaults.json").write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
    print(table(rows))


if __name__ == "__main__":
    main()
