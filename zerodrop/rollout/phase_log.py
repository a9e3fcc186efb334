"""The rollout's phase log: a progress line as each step ends, and a JSON line as each step begins
and ends (wall-clock times), for reports, plots and tests that act in a given phase."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from zerodrop.errors import first_line
from zerodrop.model import PhaseRecord
from zerodrop.private_files import private_open

BEGIN = "begin"  # the `event` of a phase's first line; its last line has event "end"


@dataclass
class RolloutLog:
    """Progress lines as steps end, and every step as JSON lines for reports."""

    out: Callable[[str], None] = print
    jsonl: TextIO | None = None
    records: list[PhaseRecord] = field(default_factory=list)
    prefix: str = "rollout"  # what each progress line begins with: rollout, recover
    silenced: bool = False  # the terminal went away: no more progress lines
    events: Callable[..., None] | None = None  # each phase's begin and end as it happens (`--json`)
    # Retirements log from their own threads: one line, record and JSON line at a time.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, message: str) -> None:
        """A progress line. A terminal that is gone (SIGHUP: EIO, a closed pipe) stops the lines,
        never the rollout or its undo; the JSON lines go on."""
        with self._lock:
            if self.silenced:
                return
            try:
                self.out(f"{self.prefix}: {message}")
            except OSError:
                self.silenced = True

    def _write(self, event: str, record: PhaseRecord) -> None:
        fields = asdict(record)
        with self._lock:
            if self.jsonl is not None:
                self.jsonl.write(json.dumps({"event": event, **fields}) + "\n")
                self.jsonl.flush()
            if self.events is not None:
                self.events(event, **fields)

    @contextmanager
    def phase(self, phase: str, replica: str, start: float | None = None) -> Iterator[PhaseRecord]:
        """Time a step (from `start` if given, else now) and report it when it ends."""
        record = PhaseRecord(phase, replica, time.time() if start is None else start)
        self._write(BEGIN, record)
        try:
            yield record
        except BaseException as error:
            record.ok = False
            record.detail = record.detail or first_line(error)
            raise
        finally:
            record.end = time.time()
            with self._lock:
                self.records.append(record)
            status = (
                f"  FAILED: {record.detail}"
                if not record.ok
                else f"  ({record.detail})" * bool(record.detail)
            )
            self.note(f"{phase:<17} {replica:<24} {record.seconds:6.1f}s{status}")
            self._write("end", record)


def load_phases(path: Path | None) -> list[PhaseRecord]:
    """The phases a rollout's log recorded as they ended (none if there is no log)."""
    if path is None or not path.is_file():
        return []
    fields = set(PhaseRecord.__dataclass_fields__)
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        PhaseRecord(**{k: v for k, v in e.items() if k in fields}) for e in entries if e.get("event") != BEGIN
    ]


def open_log(path: Path | None) -> TextIO | None:
    """The JSON-lines file the rollout's phases go to (parent folders created)."""
    if path is None:
        return None
    return private_open(path, "w")
