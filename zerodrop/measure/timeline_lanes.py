"""The lane panels of the timeline: long requests as bars, one lane per request in flight, and
held streams as bars, one lane per stream, each connection coloured by the version that served it,
with its ending marked: ended by the server and handed over (a black tick) or a drop (a red cross)."""

from __future__ import annotations

from typing import Any

from zerodrop.measure.records import LONG, RequestRecord
from zerodrop.measure.stream_verdicts import ENDED, STOPPED, StreamSegment, classify

FAILED = "red"


def draw_long_lanes(
    ax: Any,
    records: list[RequestRecord],
    colour: dict[str, Any],
    t0: float,
    label: str = "long GET /\n(lane)",
) -> None:
    """Each long request a bar in the first lane free at its start; a failure in red with a cross."""
    lane_free: list[float] = []
    for r in sorted((r for r in records if r.kind == LONG), key=lambda r: r.start):
        lane = next((i for i, free in enumerate(lane_free) if free <= r.start), len(lane_free))
        if lane == len(lane_free):
            lane_free.append(0.0)
        lane_free[lane] = r.end
        fill = colour.get(r.version or "", "grey") if r.ok else FAILED
        ax.barh(
            lane, max(r.end - r.start, 0.05), left=r.start - t0, color=fill, height=0.6, edgecolor="white"
        )
        if not r.ok:  # a failed request may last no time at all: a cross that is always seen
            ax.scatter([r.end - t0], [lane], marker="x", color=FAILED, s=40, zorder=5)
    ax.set_ylabel(label)
    ax.invert_yaxis()


def draw_stream_lanes(ax: Any, segments: list[StreamSegment], colour: dict[str, Any], t0: float) -> None:
    """Each stream a lane, each of its connections a bar from its first event to its end in the
    colour of the version that served it; the server's clean end a black tick, any other ending a
    red cross."""
    lanes = sorted(
        {s.lane for s in segments}, key=lambda name: (name.split("-")[0], int(name.split("-")[-1]))
    )
    row = {name: i for i, name in enumerate(lanes)}
    for s in segments:
        y = row[s.lane]
        if s.first_at is not None:
            fill = colour.get(s.version, "grey")
            ax.barh(y, max(s.end - s.first_at, 0.05), left=s.first_at - t0, color=fill, height=0.6)
        if s.ending == ENDED:
            ax.scatter([s.end - t0], [y], marker="|", color="black", s=60, zorder=5)
        elif s.ending != STOPPED:
            ax.scatter([s.end - t0], [y], marker="x", color=FAILED, s=40, zorder=5)
    report = classify(segments)
    dropped = sum(report.drops.values())
    ax.set_yticks(range(len(lanes)), lanes, fontsize=7)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_ylabel("streams\n(SSE, WebSocket)")
    ax.set_title(
        f"streams: {report.handovers} handed over (|), {dropped} dropped (x)", fontsize=8, loc="left"
    )


def _lane_order(name: str) -> tuple[str, int]:
    """sse-2 before sse-10."""
    kind, _, number = name.rpartition("-")
    return kind, int(number) if number.isdigit() else 0
