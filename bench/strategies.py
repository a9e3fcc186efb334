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
from pathlib import Path

from bench.strategy_kinds import DEFAULT_LOAD, DRAIN_SLEEP, HIGH_LOAD, ONE, STRATEGIES, SURGE
from bench.strategy_plot import head_to_head_summary, plot
from bench.strategy_rows import Cell, rows_from_table, table
from bench.strategy_runs import run_plan
from lab.config import load_config


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


def smoke_plan() -> list[Cell]:
    """The CI's taste of it: the documented recipe and the lab's --max-surge N, one cell."""
    return [Cell(DRAIN_SLEEP, DEFAULT_LOAD, "1s"), Cell(SURGE, DEFAULT_LOAD, "1s")]


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
