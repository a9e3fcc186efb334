"""Figures and the timeline plot of a probe run, lined up with a rollout's phases."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from zerodrop.errors import InputError
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import LONG, SHORT, WRITE, RequestRecord
from zerodrop.measure.writes import WriteCheck
from zerodrop.model import PhaseRecord
from zerodrop.rollout.result import RolloutResult


def rollout_floor(result: RolloutResult) -> float | None:
    """The shortest this rollout could have been on its schedule, from its own phases. Each batch
    takes start-to-healthy + healthy-to-routed of its new replicas, then drains its old ones, which
    take drain-to-out to leave rotation (the slowest of each in the batch). Sequential, the next
    batch starts once they are out; overlapped, as soon as this batch's new replicas are routed.
    An old replica, from its drain, still needs to leave rotation, finish its own requests and
    stop: the rollout cannot end before the last of them, whichever batch it belongs to; then
    comes its last request through Traefik's entrypoint (as long as the service takes to answer
    it). None if a phase is missing."""
    ends: dict[tuple[str, str], PhaseRecord] = {(r.phase, r.replica): r for r in result.records}

    def slowest(phase: str, role: str, names: list[str]) -> float | None:
        found = [ends.get((phase, f"{role} {name}")) for name in names]
        if not found or any(r is None for r in found):
            return None
        return max(r.seconds for r in found if r is not None)

    elapsed, floor = 0.0, 0.0  # when the next batch may start; when the last old replica is gone
    for old, new in result.batches:
        parts = (
            slowest("start-to-healthy", "new", new),
            slowest("healthy-to-routed", "new", new),
            slowest("drain-to-out", "old", old),
        )
        if any(p is None for p in parts):
            return None
        started, routed, out = (p or 0.0 for p in parts)
        drained_at = elapsed + started + routed
        for name in old:
            drain, stop = ends.get(("drain-to-out", f"old {name}")), ends.get(("stop", f"old {name}"))
            if drain is None or stop is None:
                return None
            floor = max(floor, drained_at + stop.end - drain.start)  # its own drain to its stop's end
        elapsed = drained_at if result.overlap else drained_at + out
    if not result.batches:
        return None
    last_check = ends.get(("last-check", "Traefik's entrypoint"))
    return max(floor, elapsed) + (last_check.seconds if last_check is not None else 0.0)


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
    floor = rollout_floor(result)
    if floor:
        lines.append(
            f"floor {floor:.1f}s ({'overlapped' if result.overlap else 'sequential'} batches' "
            "start>healthy + healthy>routed + drain>out, then the old replica that finishes last: "
            "its remaining requests and stop; then the last check): "
            f"took {result.seconds / floor:.2f}x the floor"
        )
    if result.cost is not None:
        lines.append(f"tool: {result.cost.line()}")
    if result.peak_replicas:
        lines.append(
            f"peak replicas running: {result.peak_replicas} "
            f"({result.started_with} at the start, plus new ones starting and old ones retiring)"
        )
    if result.fewest_routed is not None:
        lines.append(
            f"fewest servers Traefik's API listed at any check that answered: {result.fewest_routed} "
            f"(started with {result.started_with})"
        )
    if result.cut:
        lines.append(f"CUT WORK on {len(result.cut)} replica(s):")
        lines += [f"  {cut.line()}" for cut in result.cut]
    else:
        lines.append("cut work: none (every old replica was idle before it stopped, and exited 0)")
    if result.unverified:
        lines.append(f"UNVERIFIED: every replica was replaced and is routed, but {result.unverified}")
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


def window(phases: list[PhaseRecord]) -> tuple[float, float] | None:
    """First start and last end of the rollout's phases."""
    if not phases:
        return None
    return min(p.start for p in phases), max(p.end for p in phases)


def summarize(
    result: ProbeResult, phases: list[PhaseRecord] | None = None, writes: WriteCheck | None = None
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
    lines.append(
        "failures by kind: " + (", ".join(f"{k} {n}" for k, n in result.failure_kinds().items()) or "none")
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
    streams = result.streams_report()
    if streams is not None:
        lines.append(streams.line())
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


def load_result(path: Path) -> tuple[ProbeResult, dict[str, Any]]:
    """A probe report file: the result and any extra keys (rollout log path, write check)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ProbeResult.from_json(data), data
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise InputError(f"{path} is not a probe report ({type(error).__name__})") from None
