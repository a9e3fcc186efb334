"""What each project last rolled from and to (for `lab rollback`), and the one-rollout-at-a-time lock."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zerodrop.errors import HistoryUnreadable, RolloutLocked
from zerodrop.model import Release


@dataclass(frozen=True)
class RolloutRecord:
    """One rollout that ended: done, failed (its batch undone) or interrupted."""

    from_release: Release
    to_release: Release
    finished_at: float
    outcome: str = "done"


def _history_file(state_dir: Path, project: str) -> Path:
    return state_dir / f"{project}.history.json"


def load_history(state_dir: Path, project: str) -> list[RolloutRecord]:
    """Every recorded rollout of a project, oldest first."""
    path = _history_file(state_dir, project)
    if not path.is_file():
        return []
    try:
        raw: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return [
            RolloutRecord(
                Release(**item["from_release"]),
                Release(**item["to_release"]),
                float(item["finished_at"]),
                str(item.get("outcome", "done")),
            )
            for item in raw
        ]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise HistoryUnreadable(
            f"rollout history {path} cannot be read ({type(error).__name__}): move it aside "
            "(the lab then takes the version from the running replicas)"
        ) from None


def record_rollout(
    state_dir: Path, project: str, from_release: Release, to_release: Release, outcome: str = "done"
) -> None:
    """Append a rollout that ended (done, failed or interrupted) to the project's history."""
    state_dir.mkdir(parents=True, exist_ok=True)
    records = load_history(state_dir, project)
    records.append(RolloutRecord(from_release, to_release, time.time(), outcome))
    path = _history_file(state_dir, project)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(r) for r in records], indent=2), encoding="utf-8")
    tmp.replace(path)


def current_release(state_dir: Path, project: str) -> Release | None:
    """What the last completed rollout deployed, if any."""
    records = [r for r in load_history(state_dir, project) if r.outcome == "done"]
    return records[-1].to_release if records else None


def previous_release(state_dir: Path, project: str) -> Release | None:
    """What the service ran before the last completed rollout, if any."""
    records = [r for r in load_history(state_dir, project) if r.outcome == "done"]
    return records[-1].from_release if records else None


def forget(state_dir: Path, project: str) -> None:
    """Drop a project's history (when its stack is removed)."""
    _history_file(state_dir, project).unlink(missing_ok=True)


def _lock_file(state_dir: Path, project: str) -> Path:
    return state_dir / f"{project}.rollout.lock"


@dataclass(frozen=True)
class LockState:
    """The rollout lock as found: held by a live process, stale (its holder died without letting
    go, e.g. SIGKILL), or free. `holder` is what the holder wrote: pid, target, start time."""

    held: bool
    stale: bool
    holder: str = ""


def lock_state(state_dir: Path, project: str) -> LockState:
    """Look at the project's rollout lock without keeping it."""
    path = _lock_file(state_dir, project)
    if not path.is_file():
        return LockState(False, False)
    with path.open("r", encoding="utf-8") as handle:
        holder = handle.read().strip()
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return LockState(True, False, holder)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return LockState(False, bool(holder), holder)


@contextmanager
def rollout_lock(state_dir: Path, project: str, purpose: str = "") -> Iterator[LockState]:
    """Hold the project's rollout lock for the block; RolloutLocked at once if another holds it.
    The kernel releases it if the process dies, but what the holder wrote stays: the LockState
    yielded says whether the previous holder died without finishing (stale)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = _lock_file(state_dir, project)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RolloutLocked(f"a rollout of project {project!r} is already running ({holder})") from None
        handle.seek(0)
        previous = handle.read().strip()
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"pid {os.getpid()}{', ' + purpose if purpose else ''}, since {time.strftime('%H:%M:%S')}"
        )
        handle.flush()
        try:
            yield LockState(False, bool(previous), previous)
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
