"""The request panels of the timeline: short requests and writes as latency dots; long requests
as bars, one lane per request in flight; and held streams as bars, one lane per stream, each
connection coloured by the version that served it, with its ending marked: ended by the server
and handed over (a black tick) or a drop (a red cross)."""

from __future__ import annotations

from typing import Any

from matplotlib.ticker import FuncFormatter

from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import LONG, SHORT, WRITE, RequestRecord
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


def draw_latency(
    ax: Any, records: list[RequestRecord], kind: str, *, label: str, colour: dict[str, Any], t0: float
) -> None:
    """One kind's requests as latency dots on a log axis, by version; failures as red crosses."""
    of_kind = [r for r in records if r.kind == kind]
    # A service that does not say its version answers "" (grey, unlabelled).
    for version, c in [*colour.items(), ("", "grey")]:
        pts = [r for r in of_kind if r.ok and (r.version or "") == version]
        if pts or version:
            ax.scatter(
                [r.start - t0 for r in pts],
                [r.seconds * 1000 for r in pts],
                s=4,
                color=c,
                label=version or "answered",
            )
    bad = [r for r in of_kind if not r.ok]
    if bad:
        ax.scatter(
            [r.start - t0 for r in bad],
            [max(r.seconds * 1000, 0.1) for r in bad],
            s=40,
            marker="x",
            color=FAILED,
            zorder=5,
        )
    # The legend says how many failed even when none did (a proxy: an empty scatter on a log axis
    # has no limits matplotlib can scale).
    ax.plot([], [], "x", color=FAILED, markersize=7, label=f"failed ({len(bad)})")
    ax.set_ylabel(label)
    if not of_kind:
        ax.text(0.5, 0.5, "none sent", transform=ax.transAxes, ha="center", va="center", color="grey")
        return
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 20, not 2 x 10^1
    ax.yaxis.set_minor_formatter(FuncFormatter(two_and_five))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=2)


def two_and_five(value: float, _: object) -> str:
    """Minor log ticks labelled only at 2 and 5 of each decade, in plain milliseconds."""
    leading = f"{value:.0e}"[0] if value > 0 else ""
    return f"{value:g}" if leading in {"2", "5"} else ""


def draw_requests(
    ax: dict[str, Any], result: ProbeResult, records: list[RequestRecord], colour: dict[str, Any], t0: float
) -> None:
    """The request panels, named by the probe's own paths, and the streams panel if it has one."""
    o = result.options
    draw_long_lanes(ax["long"], records, colour, t0, label=f"long GET {o.long_path}\n(lane)")
    draw_latency(ax["short"], records, SHORT, label=f"GET {o.short_path}\nlatency ms", colour=colour, t0=t0)
    if "write" in ax:
        label = f"POST {o.write_path}\nlatency ms"
        draw_latency(ax["write"], records, WRITE, label=label, colour=colour, t0=t0)
    if result.streams:
        draw_stream_lanes(ax["streams"], result.streams, colour, t0)
