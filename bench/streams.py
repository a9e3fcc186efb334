"""Rollout strategies against held streams, side by side in one run: each strategy of
bench/strategies.py rolls a fresh 2-replica v1 stack to v2 under the default load while the
probe holds 4 SSE streams and 2 WebSockets (clients that reconnect and resume as the protocols
allow, as standard clients do: an SSE stream reads as EventSource reads it). One more row is the
lab rollout against the app as it was before 965821b, which held each SSE response open for 2 s
after its goodbye waiting for the client to leave (STREAM_LINGER_SECONDS=2): a standard client
has no listener for the goodbye, so it waits the 2 s out. The table: strategy x streams held,
handed over, dropped by kind, the longest silence a client saw, failed requests, and the lab
rollout's exit status.

    make bench-streams      (every strategy once, about 8 minutes; leaves nothing running)

Output in out/bench-streams/: streams.md (the table) and strategies.json (every row)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.strategy_kinds import ONE, STRATEGIES, STREAMS_LOAD
from bench.strategy_rows import Cell, Row
from bench.strategy_runs import run_plan
from lab.config import load_config

HEADER = [
    "strategy",
    "streams held",
    "handed over",
    "dropped",
    "dropped by kind",
    "longest silence",
    "failed / requests",
    "rollout time",
    "rollout exit",
]
LINGER = "lab rollout, 1 at a time, app holding SSE 2 s after its goodbye (before 965821b)"


def streams_plan(interval: str = "1s") -> list[Cell]:
    """Every strategy once, under the default load plus streams, and the lab rollout against the
    app as it was (its SSE responses held 2 s after their goodbye)."""
    cells = [Cell(strategy, STREAMS_LOAD, interval) for strategy in STRATEGIES]
    return [
        *cells,
        Cell(LINGER, STREAMS_LOAD, interval, runs_as=ONE, variables=(("STREAM_LINGER_SECONDS", "2"),)),
    ]


def streams_table(rows: list[Row]) -> str:
    """The Markdown table of the rows that held streams."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        if not row.streams:
            continue
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(row.streams_dropped.items())) or "-"
        status = f" ({row.error})" if row.error else ""
        cells = [
            row.strategy + status,
            str(row.streams),
            str(row.handed_over),
            str(sum(row.streams_dropped.values())),
            kinds,
            f"{row.longest_silence:.2f} s",
            f"{row.failed} / {row.requests}",
            f"{row.seconds:.1f} s",
            "-" if row.exit_code is None else str(row.exit_code),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run every strategy under streams and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default out/bench-streams)")
    args = parser.parse_args()
    out_dir = args.out or load_config().out_dir / "bench-streams"
    rows = run_plan(streams_plan(), out_dir, echo=lambda line: print(line, flush=True), draw=False)
    text = streams_table(rows)
    (out_dir / "streams.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"bench: table and rows in {out_dir}/")


if __name__ == "__main__":
    main()
