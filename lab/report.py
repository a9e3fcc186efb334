"""Figures and the timeline plot of a probe run, lined up with a rollout's phases."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.phaselog import BEGIN
from lab.probe import LONG, SHORT, WRITE, ProbeResult, RequestRecord
from lab.rollout import RolloutResult
from lab.writes import WriteCheck


@dataclass(frozen=True)
class Phase:
    """A timed rollout step, as the rollout's JSON-lines log has it."""

    phase: str
    replica: str
    start: float
    end: float
    ok: bool = True
    detail: str = ""


def load_phases(path: Path | None) -> list[Phase]:
    """The rollout's phases from its log (none if there is no log)."""
    if path is None or not path.is_file():
        return []
    fields = set(Phase.__dataclass_fields__)
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Phase(**{k: v for k, v in e.items() if k in fields}) for e in entries if e.get("event") != BEGIN]


def summary_table(result: RolloutResult) -> str:
    """Per replaced pair: start→healthy, healthy→routed, drain→out of Traefik, drain→idle, stop;
    then the total, the fewest replicas Traefik routed, and any work that was cut."""

    def seconds(phase: str, replica: str) -> str:
        for record in result.records:
            if record.phase == phase and record.replica == replica:
                return f"{record.seconds:.1f}s"
        return "-"

    header = (
        f"{'old replica':<24} {'new replica':<24} {'start>healthy':>13} {'healthy>routed':>14} "
        f"{'drain>out':>10} {'drain>idle':>10} {'stop':>6}"
    )
    lines = [header]
    for old, new in result.replaced:
        lines.append(
            f"{old:<24} {new:<24} {seconds('start-to-healthy', 'new ' + new):>13} "
            f"{seconds('healthy-to-routed', 'new ' + new):>14} {seconds('drain-to-out', 'old ' + old):>10} "
            f"{seconds('drain-to-idle', 'old ' + old):>10} {seconds('stop', 'old ' + old):>6}"
        )
    lines.append(f"total {result.seconds:.1f}s, {len(result.replaced)} replica(s) replaced")
    if result.fewest_routed is not None:
        lines.append(
            f"fewest servers Traefik's API listed at any check that answered: {result.fewest_routed} "
            f"(started with {result.started_with})"
        )
    if result.cut:
        lines.append(f"CUT WORK on {len(result.cut)} replica(s), stopped at the grace deadline:")
        lines += [f"  {cut.line()}" for cut in result.cut]
    else:
        lines.append("cut work: none (every old replica was idle before it stopped, and exited 0)")
    return "\n".join(lines)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


def latency_line(records: list[RequestRecord]) -> str:
    """'p50 3.1 ms, p90 ..., p99 ..., max ... (n=...)' for successful requests."""
    ms = [r.seconds * 1000 for r in records if r.ok]
    if not ms:
        return "no successful requests"
    return (
        f"p50 {percentile(ms, 50):.1f} ms, p90 {percentile(ms, 90):.1f} ms, "
        f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms (n={len(ms)})"
    )


def window(phases: list[Phase]) -> tuple[float, float] | None:
    """First start and last end of the rollout's phases."""
    if not phases:
        return None
    return min(p.start for p in phases), max(p.end for p in phases)


def summarize(
    result: ProbeResult, phases: list[Phase] | None = None, writes: WriteCheck | None = None
) -> str:
    """The probe's summary: counts by outcome, kind and version, latencies, failures, writes."""
    records = [r for r in result.records if r.end]
    failures = [r for r in records if not r.ok]
    kinds = Counter(r.kind for r in records)
    lines = [
        f"probe: {result.ended - result.started:.1f}s, {len(records)} requests "
        f"(long {kinds[LONG]}, short {kinds[SHORT]}, write {kinds[WRITE]}); "
        f"ok {len(records) - len(failures)}, failed {len(failures)}",
    ]
    failure_kinds = Counter(f"{r.kind}:{r.error}" for r in failures)
    lines.append(
        "failures by kind: " + (", ".join(f"{k} {n}" for k, n in failure_kinds.most_common()) or "none")
    )
    versions = Counter(r.version for r in records if r.ok)
    lines.append(
        "answered by version: " + ", ".join(f"{v} {n}" for v, n in sorted(versions.items(), key=str))
    )
    shorts = [r for r in records if r.kind == SHORT]
    lines.append(f"short requests: {latency_line(shorts)}")
    span = window(phases or [])
    if span is not None:
        before = [r for r in shorts if r.start < span[0]]
        during = [r for r in shorts if span[0] <= r.start <= span[1]]
        lines.append(f"  before the rollout: {latency_line(before)}")
        lines.append(f"  during the rollout ({span[1] - span[0]:.1f}s): {latency_line(during)}")
    longs = [r for r in records if r.kind == LONG and r.ok]
    if longs:
        lines.append(
            f"long requests: {len(longs)} complete, {min(r.seconds for r in longs):.2f}"
            f"-{max(r.seconds for r in longs):.2f}s"
        )
    lines.append(f"writes: {latency_line([r for r in records if r.kind == WRITE])}")
    if result.behind:
        lines.append(f"probe behind schedule {result.behind} time(s): it was the bottleneck")
    if writes is not None:
        lines.append(writes.line())
    for r in failures[:50]:
        lines.append(
            f"  FAILED +{r.start - result.started:7.2f}s {r.kind:<5} {r.error} "
            f"status={r.status} replica={r.replica} after {r.seconds:.2f}s"
        )
    if len(failures) > 50:
        lines.append(f"  ... and {len(failures) - 50} more")
    return "\n".join(lines)


PHASE_COLOURS = {
    "start-to-healthy": "#9ecae1",
    "healthy-to-routed": "#3182bd",
    "drain-to-idle": "#fdae6b",
    "stop": "#e6550d",
}


def _draw_phases(band_ax: Any, others: list[Any], phases: list[Phase], t0: float) -> None:
    from matplotlib.patches import Patch

    rows: dict[str, int] = {}
    for p in phases:
        if p.phase not in PHASE_COLOURS:
            continue
        y = rows.setdefault(p.replica, len(rows))
        band_ax.barh(y, p.end - p.start, left=p.start - t0, color=PHASE_COLOURS[p.phase], height=0.7)
        if p.phase in {"healthy-to-routed", "drain-to-idle"}:
            for ax in others:
                ax.axvspan(p.start - t0, p.end - t0, color=PHASE_COLOURS[p.phase], alpha=0.12, lw=0)
    if not rows:
        band_ax.set_yticks([])
        band_ax.text(
            0.5,
            0.5,
            "no rollout phases: plain docker / compose commands",
            ha="center",
            va="center",
            transform=band_ax.transAxes,
            fontsize=9,
            color="grey",
        )
        return
    band_ax.set_yticks(list(rows.values()), list(rows.keys()), fontsize=7)
    handles = [Patch(color=c) for c in PHASE_COLOURS.values()]
    band_ax.legend(handles=handles, labels=list(PHASE_COLOURS), fontsize=7, loc="upper left", ncol=4)


def _draw_long(ax: Any, records: list[RequestRecord], colour: dict[str, Any], t0: float) -> None:
    lane_free: list[float] = []
    for r in sorted((r for r in records if r.kind == LONG), key=lambda r: r.start):
        lane = next((i for i, free in enumerate(lane_free) if free <= r.start), len(lane_free))
        if lane == len(lane_free):
            lane_free.append(0.0)
        lane_free[lane] = r.end
        fill = colour.get(r.version or "", "grey") if r.ok else "red"
        ax.barh(lane, r.end - r.start, left=r.start - t0, color=fill, height=0.6, edgecolor="white")
        if not r.ok:
            ax.scatter([r.start - t0], [lane], marker="x", color="red", s=30)
    ax.set_ylabel("long GET /\n(lane)")


def _draw_latency(
    ax: Any, records: list[RequestRecord], kind: str, *, label: str, colour: dict[str, Any], t0: float
) -> None:
    of_kind = [r for r in records if r.kind == kind]
    for version, c in colour.items():
        pts = [r for r in of_kind if r.ok and r.version == version]
        ax.scatter([r.start - t0 for r in pts], [r.seconds * 1000 for r in pts], s=4, color=c, label=version)
    bad = [r for r in of_kind if not r.ok]
    if bad:
        ax.scatter(
            [r.start - t0 for r in bad],
            [r.seconds * 1000 for r in bad],
            s=30,
            marker="x",
            color="red",
            label=f"failed ({len(bad)})",
        )
    ax.set_ylabel(label)
    ax.set_yscale("log")
    ax.legend(fontsize=7, loc="upper right", markerscale=3)


def plot_timeline(result: ProbeResult, phases: list[Phase], path: Path, title: str = "") -> Path:
    """A PNG: long requests as bars, short requests and writes as latency dots, coloured by the
    version that answered, failures in red, the rollout's phases as bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = result.started
    records = [r for r in result.records if r.end]
    versions = sorted({r.version for r in records if r.ok and r.version})
    palette = plt.get_cmap("tab10")
    colour = {v: palette(i % 10) for i, v in enumerate(versions)}
    fig, axes = plt.subplots(4, 1, figsize=(12, 9), sharex=True, height_ratios=[1.2, 2, 2, 2])
    band_ax, long_ax, short_ax, write_ax = axes
    band_ax.set_title(title or "requests through Traefik during the rollout", fontsize=11)
    _draw_phases(band_ax, [long_ax, short_ax, write_ax], phases, t0)
    _draw_long(long_ax, records, colour, t0)
    _draw_latency(short_ax, records, SHORT, label="GET /health\nlatency ms", colour=colour, t0=t0)
    _draw_latency(write_ax, records, WRITE, label="POST /events\nlatency ms", colour=colour, t0=t0)
    write_ax.set_xlabel("seconds since the probe started")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_result(path: Path) -> tuple[ProbeResult, dict[str, Any]]:
    """A probe report file: the result and any extra keys (rollout log path, write check)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return ProbeResult.from_json(data), data
