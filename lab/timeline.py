"""The timeline plot of a probe run: long requests as bars, short requests and writes as latency
dots coloured by the version that answered, failures in red, the rollout's phases as bands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.model import PhaseRecord
from lab.probe import ProbeResult
from lab.records import LONG, SHORT, WRITE, RequestRecord

PHASE_COLOURS = {
    "start-to-healthy": "#9ecae1",
    "healthy-to-routed": "#3182bd",
    "drain-to-idle": "#fdae6b",
    "stop": "#e6550d",
}


def _draw_spans(
    band_ax: Any, others: list[Any], spans: Sequence[tuple[str, float, float]], t0: float
) -> None:
    """Named time spans of an action the lab did not drive step by step (Swarm's own update)."""
    for y, (name, start, end) in enumerate(spans):
        band_ax.barh(y, end - start, left=start - t0, color="tab:purple", alpha=0.6, height=0.7)
        band_ax.text(end - t0 + 0.2, y, f"{name} ({end - start:.1f} s)", va="center", fontsize=8)
        for ax in others:
            ax.axvline(end - t0, color="tab:purple", lw=0.8, ls="--")
    band_ax.set_yticks([])
    band_ax.invert_yaxis()


def _draw_phases(band_ax: Any, others: list[Any], phases: list[PhaseRecord], t0: float) -> None:
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


def plot_timeline(
    result: ProbeResult,
    phases: list[PhaseRecord],
    path: Path,
    title: str = "",
    spans: Sequence[tuple[str, float, float]] = (),
) -> Path:
    """A PNG: long requests as bars, short requests and writes as latency dots, coloured by the
    version that answered, failures in red, the rollout's phases as bands (or, for an action the
    lab did not drive, named `spans` of wall-clock time)."""
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
    if spans and not phases:
        _draw_spans(band_ax, [long_ax, short_ax, write_ax], spans, t0)
    else:
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
