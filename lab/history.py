"""What each project last rolled from and to (for `lab rollback`), and the one-rollout-at-a-time lock."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Release:
    """A version of the service and the compose variables it was started with."""

    version: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RolloutRecord:
    """One finished rollout."""

    from_release: Release
    to_release: Release
    finished_at: float


class RolloutLocked(RuntimeError):
    """Another rollout of the same project is running."""


def _history_file(state_dir: Path, project: str) -> Path:
    return state_dir / f"{project}.history.json"


def load_history(state_dir: Path, project: str) -> list[RolloutRecord]:
    """Every recorded rollout of a project, oldest first."""
    path = _history_file(state_dir, project)
    if not path.is_file():
        return []
    raw: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return [
        RolloutRecord(Release(**item["from_release"]), Release(**item["to_release"]), item["finished_at"])
        for item in raw
    ]


def record_rollout(state_dir: Path, project: str, from_release: Release, to_release: Release) -> None:
    """Append a finished rollout to the project's history."""
    state_dir.mkdir(parents=True, exist_ok=True)
    records = load_history(state_dir, project)
    records.append(RolloutRecord(from_release, to_release, time.time()))
    path = _history_file(state_dir, project)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(r) for r in records], indent=2), encoding="utf-8")
    tmp.replace(path)


def current_release(state_dir: Path, project: str) -> Release | None:
    """What the last rollout deployed, if any."""
    records = load_history(state_dir, project)
    return records[-1].to_release if records else None


def previous_release(state_dir: Path, project: str) -> Release | None:
    """What the service ran before the last rollout, if any."""
    records = load_history(state_dir, project)
    return records[-1].from_release if records else None


def forget(state_dir: Path, project: str) -> None:
    """Drop a project's history (when its stack is removed)."""
    _history_file(state_dir, project).unlink(missing_ok=True)


@contextmanager
def rollout_lock(state_dir: Path, project: str) -> Iterator[None]:
    """Hold the project's rollout lock for the block; RolloutLocked at once if another holds it.
    The kernel releases it if the process dies."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / f"{project}.rollout.lock"
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RolloutLocked(f"a rollout of project {project!r} is already running ({holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
