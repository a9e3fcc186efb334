"""The strategies bench's picture and its head-to-head summary: rollout time against N, failures
against the healthcheck interval, one colour per strategy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.strategy_kinds import (
    DEFAULT_LOAD,
    DRAIN_SLEEP,
    HIGH_LOAD,
    ONE,
    RECIPE,
    RECREATE,
    STRATEGIES,
    SURGE,
)
from bench.strategy_rows import Row

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
    _failures_panel(by_interval, rows)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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


def _failures_panel(by_interval: Any, rows: list[Row]) -> None:
    """Failed requests (%) against the healthcheck interval, per strategy and load (N = 2)."""
    from matplotlib.ticker import FuncFormatter

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
