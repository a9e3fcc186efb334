"""The timeline plot of a probe run: long requests as bars, short requests and writes as latency
dots coloured by the version that answered, held streams as lanes (when the probe held any),
failures as red crosses on top in every lane, the
rollout's phases as bands, and what happened when (compose up, each signal, Traefik adding or
dropping a server as its API showed it, each exit) as marked lines across every panel."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import WRITE
from zerodrop.measure.timeline_lanes import draw_requests
from zerodrop.model import PhaseRecord

PHASE_COLOURS = {
    "create": "#c7e9c0",
    "start-to-healthy": "#9ecae1",
    "healthy-to-routed": "#3182bd",
    "drain-to-out": "#fdd0a2",
    "streams-closed": "#fee391",
    "drain-to-idle": "#fdae6b",
    "stop": "#e6550d",
    "back-in": "#756bb1",
}
# What happened, read from the phase log: (phase, at its start or end, label). The ends of
# healthy-to-routed and drain-to-out are the moments the rollout saw Traefik's API add or drop a
# server; the start of drain-to-out is the drain signal; the end of stop is the exit.
EVENTS = (
    ("create", "start", "compose up"),
    ("healthy-to-routed", "end", "Traefik adds"),
    ("drain-to-out", "start", "SIGUSR1"),
    ("drain-to-out", "end", "Traefik drops"),
    ("streams-closed", "start", "end streams"),
    ("stop", "start", "SIGTERM"),
    ("stop", "end", "exit"),
    ("back-in", "end", "back in"),
)
# How each moment is marked on its replica's row of the band panel: (marker, colour). The rollout's
# phase log gives some; the workshop's watch (lab/watch.py) gives the engine's and Traefik's own.
EVENT_MARKS = {
    "compose up": ("P", "#31a354"),
    "start": (">", "#31a354"),
    "healthy": ("o", "#08306b"),
    "Traefik adds": ("^", "#3182bd"),
    "SIGUSR1": ("|", "#e6550d"),
    "Traefik drops": ("v", "#e6550d"),
    "end streams": ("*", "#993404"),
    "SIGHUP": ("*", "#993404"),  # the lab app's end of streams, as the engine reports it
    "SIGTERM": ("D", "#a63603"),
    "SIGKILL": ("X", "#67000d"),
    "exit": ("s", "#636363"),
    "back in": ("^", "#756bb1"),
}
Mark = tuple[float, str, str]  # (unix time, what, container name; "" for a command on the stack)


def events(phases: list[PhaseRecord]) -> list[Mark]:
    """(time, what, replica) for every marked moment of the rollout, in time order."""
    found: list[Mark] = []
    for p in phases:
        for phase, edge, what in EVENTS:
            if p.phase == phase and (edge == "start" or p.ok):
                found.append((p.start if edge == "start" else p.end, what, p.replica.split(" ")[-1]))
    return sorted(found)


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


def _draw_phases(
    band_ax: Any, others: list[Any], phases: list[PhaseRecord], marks: Sequence[Mark], t0: float
) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows: dict[str, int] = {}
    drawn = [p for p in phases if p.phase in PHASE_COLOURS]
    for p in drawn:
        rows.setdefault(p.replica, len(rows))
    # Longest first, so a short phase (drain-to-out) stays visible on a long one (drain-to-idle).
    for p in sorted(drawn, key=lambda p: p.end - p.start, reverse=True):
        width = max(p.end - p.start, 0.05)
        band_ax.barh(rows[p.replica], width, left=p.start - t0, color=PHASE_COLOURS[p.phase], height=0.7)
    marked = _draw_marks(band_ax, others, marks, rows, t0)
    band_ax.set_yticks(list(rows.values()), list(rows.keys()), fontsize=7)
    band_ax.set_ylim(len(rows) - 0.5, -0.5)
    shown = [name for name in PHASE_COLOURS if any(p.phase == name for p in drawn)]
    handles: list[Any] = [Patch(color=PHASE_COLOURS[name]) for name in shown]
    handles += [
        Line2D([], [], marker=EVENT_MARKS[w][0], color=EVENT_MARKS[w][1], ls="", markersize=6)
        for w in EVENT_MARKS
        if w in marked
    ]
    labels = shown + [w for w in EVENT_MARKS if w in marked]
    columns = 2 if len(labels) > 8 else 1  # one tall column would squeeze every panel below
    band_ax.legend(
        handles=handles,
        labels=labels,
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.05),
        ncol=columns,
    )


def _draw_marks(
    band_ax: Any, others: list[Any], marks: Sequence[Mark], rows: dict[str, int], t0: float
) -> set[str]:
    """Each moment on its replica's row (a new row for a replica no phase named), a command on the
    whole stack as a labelled line through every panel; the kinds drawn."""
    marked: set[str] = set()
    for at, what, replica in sorted(marks):
        if not replica:  # a command: a line through every panel, named at the top
            for ax in [band_ax, *others]:
                ax.axvline(at - t0, color="#31a354", lw=1.0, ls="--", zorder=1)
            band_ax.annotate(
                what,
                (at - t0, 0),
                xycoords=("data", "axes fraction"),
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=7,
                color="#31a354",
                rotation=90,
                va="bottom",
            )
            continue
        row = next((y for label, y in rows.items() if label.endswith(replica)), None)
        if row is None:
            row = rows[replica] = len(rows)
        marker, colour = EVENT_MARKS.get(what, ("*", "black"))
        band_ax.scatter([at - t0], [row], marker=marker, color=colour, s=36, zorder=4, linewidths=1.5)
        marked.add(what)
        if what in {"Traefik adds", "Traefik drops"}:  # routing changes: a line through every panel
            for ax in others:
                ax.axvline(at - t0, color=colour, lw=0.7, ls=":", zorder=1)
    return marked


def plot_timeline(
    result: ProbeResult,
    phases: list[PhaseRecord],
    path: Path,
    title: str = "",
    *,
    spans: Sequence[tuple[str, float, float]] = (),
    marks: Sequence[Mark] | None = None,
) -> Path:
    """A PNG: long requests as bars, short requests and writes as latency dots, coloured by the
    version that answered, failures in red, the rollout's phases as bands (or, for an action the
    lab did not drive, named `spans` of wall-clock time), and what happened when: `marks` seen
    from outside (the engine's events, Traefik's API, the commands run), else read from the phases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = result.started
    records = [r for r in result.records if r.end]
    versions = {r.version for r in records if r.ok and r.version} | {s.version for s in result.streams}
    palette = plt.get_cmap("tab10")
    colour = {v: palette(i % 10) for i, v in enumerate(sorted(versions - {""}))}
    shown_marks = events([p for p in phases if p.phase in PHASE_COLOURS]) if marks is None else marks
    banded = bool(spans) or bool(shown_marks) or any(p.phase in PHASE_COLOURS for p in phases)
    # Panels only for what there is to show: a band, writes, streams.
    wrote = result.options.write_path is not None and any(r.kind == WRITE for r in records)
    rows = ["band"] * banded + ["long", "short"] + ["write"] * wrote + ["streams"] * bool(result.streams)
    ratios = {"band": 1.4, "long": 2.0, "short": 2.0, "write": 2.0, "streams": 2.0}
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(12, 2.4 * len(rows)), sharex=True, height_ratios=[ratios[r] for r in rows]
    )
    ax = dict(zip(rows, axes, strict=True))
    others = [ax[r] for r in rows if r != "band"]
    fig.suptitle(title or "requests through Traefik during the rollout", fontsize=11)
    if spans and not phases:
        _draw_spans(ax["band"], others, spans, t0)
    elif banded:
        _draw_phases(ax["band"], others, phases, shown_marks, t0)
    draw_requests(ax, result, records, colour, t0)
    axes[-1].set_xlabel("seconds since the probe started")
    fig.tight_layout(rect=(0, 0, 0.97, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
