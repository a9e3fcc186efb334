"""One replica's lifecycle state: starting, ready, draining; in-flight count; buffered events."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Phase(StrEnum):
    """Where the replica is in its life; only READY passes the readiness check."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"


@dataclass
class ReplicaState:
    """Mutable state shared by the API and the server; touched only from the event loop."""

    replica: str
    phase: Phase = Phase.STARTING
    inflight: int = 0
    served: int = 0
    slow_started: int = 0
    drain_started: float | None = None
    buffered: list[dict[str, Any]] = field(default_factory=list)
    persisted: int = 0
    shutdown_failed: bool = False  # the shutdown work could not persist the buffer: exit 1
    streams_open: int = 0  # SSE and WebSocket streams open now
    streams_ended: int = 0  # streams the replica ended after end_streams (SSE end, WebSocket 1012)
    end_streams: bool = False  # SIGHUP while draining: every stream ends, new ones too (undrain clears it)
    streams_round: int = 0  # SIGHUPs so far: a stream open at one ends (a serving replica's new ones stay)
    # Per process: a restarted container keeps its hostname and counts from 1 again, so without
    # it a lost write could match an older one on disk and the lost-write verdict would pass.
    incarnation: str = field(default_factory=lambda: secrets.token_hex(4))
    _next_id: int = 0

    def mark_ready(self) -> None:
        """End the startup phase, unless a drain already began."""
        if self.phase is Phase.STARTING:
            self.phase = Phase.READY

    def start_draining(self) -> None:
        """Fail readiness from now on while still serving (the lame-duck window starts here)."""
        if self.phase is not Phase.DRAINING:
            self.phase = Phase.DRAINING
            self.drain_started = time.monotonic()

    def stop_draining(self) -> None:
        """Pass readiness again: the replica goes back into rotation."""
        if self.phase is Phase.DRAINING:
            self.phase = Phase.READY
            self.drain_started = None
            self.end_streams = False

    def drained_for(self) -> float:
        """Seconds since draining began; 0 when not draining."""
        if self.drain_started is None:
            return 0.0
        return time.monotonic() - self.drain_started

    def add_event(self, payload: dict[str, Any]) -> str:
        """Buffer one event in memory and return its id (unique across replicas and restarts:
        replica, process incarnation, count)."""
        self._next_id += 1
        event_id = f"{self.replica}-{self.incarnation}-{self._next_id}"
        self.buffered.append({"id": event_id, "received": time.time(), "payload": payload})
        return event_id

    def snapshot(self) -> dict[str, Any]:
        """What /stats reports."""
        return {
            "replica": self.replica,
            "phase": self.phase.value,
            "ready": self.phase is Phase.READY,
            "draining": self.phase is Phase.DRAINING,
            "inflight": self.inflight,
            "served": self.served,
            "slow_started": self.slow_started,
            "buffered": len(self.buffered),
            "persisted": self.persisted,
            "streams": self.streams_open,
            "streams_ended": self.streams_ended,
        }


def events_file(data_dir: Path, replica: str) -> Path:
    """The file that holds one replica's persisted events (JSON lines)."""
    return data_dir / f"events-{replica}.jsonl"


async def persist_events(state: ReplicaState, data_dir: Path, work_seconds: float) -> int:
    """The shutdown work: after `work_seconds` of simulated slow persistence, append every
    buffered event to the replica's file, fsync it and its folder, and return how many were
    written. The events leave the buffer only once they are on disk: a write that fails raises
    (OSError) and leaves them buffered."""
    if work_seconds > 0:
        await asyncio.sleep(work_seconds)
    items = list(state.buffered)
    if not items:
        return 0
    data_dir.mkdir(parents=True, exist_ok=True)
    path = events_file(data_dir, state.replica)
    created = not path.exists()
    with path.open("a", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if created:  # the new file's entry in its folder must survive a crash too
        folder = os.open(data_dir, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    del state.buffered[: len(items)]
    state.persisted += len(items)
    return len(items)
