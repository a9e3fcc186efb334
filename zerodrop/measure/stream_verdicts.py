"""How a held stream's connections ended, classified lane by lane (pure logic, no I/O).

A clean handover: the server ended the stream at a message boundary (an SSE response that ended
after a complete event, or a WebSocket close 1012), the lane reconnected within the retry hint
plus RECONNECT_MARGIN, and it resumed at exactly the next id. Nothing of ours is needed for it.
Every other ending is a drop, by kind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ENDED, STOPPED = "ended", "stopped"  # the server ended it at a message boundary; the probe stopped
MALFORMED = "malformed"  # data that is not an event the probe can read: a drop, and the lane moves on
RECONNECT_MARGIN = 1.0  # s beyond the retry hint a reconnect may take (to its first event) and be clean
DEFAULT_RETRY_MS = 3000  # EventSource's reconnection time until the server sets one (Chromium's)


@dataclass
class StreamSegment:
    """One connection of a lane: when, to which replica, the ids it got, and how it ended."""

    lane: str
    kind: str
    start: float
    end: float = 0.0
    first_id: int | None = None
    last_id: int | None = None
    first_at: float | None = None
    events: int = 0
    inner_gaps: int = 0  # ids that did not follow the one before, within this connection
    version: str = ""
    replica: str = ""
    ending: str = ""  # ended, stopped, reset, eof-mid-event, timeout, malformed, http-NNN, close-NNNN
    last_at: float | None = None  # when its last event arrived
    retry_ms: int = DEFAULT_RETRY_MS  # the reconnection time in force when it ended
    goodbye: bool = False  # the server named its ending (an `event: goodbye`, which EventSource ignores)


@dataclass
class StreamsReport:
    """Every ending classified: handovers, drops by kind, and the longest silence a client saw."""

    lanes: int
    segments: int
    handovers: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    longest_silence: float = 0.0  # from a connection's last event to the lane's next, failed tries included

    def line(self) -> str:
        """'streams: 6 lanes, 14 connections; 8 clean handovers; dropped: none; ...'."""
        drops = ", ".join(f"{k} {n}" for k, n in self.drops.most_common()) or "none"
        return (
            f"streams: {self.lanes} lane(s), {self.segments} connection(s); {self.handovers} clean "
            f"handover(s); dropped: {drops}; longest silence {self.longest_silence:.2f}s"
        )


def _verdict(segment: StreamSegment, after: StreamSegment | None) -> str | None:
    """How a connected segment's ending turned out, given its lane's next connection attempt:
    'handover', a drop kind, or None (the probe stopped before anything could follow). An
    ending that was not the server's clean end is named for itself, whatever followed."""
    if segment.ending != ENDED:
        return segment.ending
    if after is None:
        return None
    if after.first_id is None:
        return "reconnect-failed"
    expected = segment.last_id + 1 if segment.last_id is not None else after.first_id
    if after.first_id != expected:
        return "gap" if after.first_id > expected else "duplicate"
    reconnect = (after.first_at or after.end) - segment.end
    return "handover" if reconnect <= segment.retry_ms / 1000 + RECONNECT_MARGIN else "slow-reconnect"


def classify(segments: list[StreamSegment]) -> StreamsReport:
    """Each connected segment's ending (except the probe's own stop), lane by lane; and a lane
    whose first connection failed."""
    lanes: dict[str, list[StreamSegment]] = {}
    for segment in sorted(segments, key=lambda s: s.start):
        lanes.setdefault(segment.lane, []).append(segment)
    report = StreamsReport(len(lanes), len(segments))
    for lane in lanes.values():
        for i, segment in enumerate(lane):
            if segment.inner_gaps:
                report.drops["gap-within-stream"] += segment.inner_gaps
            if segment.first_id is None and i == 0 and segment.ending != STOPPED:
                report.drops["connect-failed"] += 1  # the lane's first try (later ones: the verdict)
            if segment.first_id is None or segment.ending == STOPPED:
                continue
            verdict = _verdict(segment, lane[i + 1] if i + 1 < len(lane) else None)
            report.longest_silence = max(report.longest_silence, _silence(segment, lane[i + 1 :]))
            if verdict == "handover":
                report.handovers += 1
            elif verdict is not None:
                report.drops[verdict] += 1
    return report


def _silence(segment: StreamSegment, later: list[StreamSegment]) -> float:
    """How long the lane's client went without an event after this segment's last one: until the
    first event of the next connection that got one, across failed attempts (until the last
    attempt's end if none got one before the probe stopped; to its own end if nothing followed)."""
    since = segment.last_at if segment.last_at is not None else segment.end
    resumed = next((s.first_at for s in later if s.first_at is not None), None)
    if resumed is not None:
        return resumed - since
    return max((later[-1].end if later else segment.end) - since, 0.0)
