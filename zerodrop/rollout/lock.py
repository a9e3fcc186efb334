"""One rollout of a project at a time: a file lock the kernel lets go of if its holder dies, and
what the holder wrote, so the next one can tell that an earlier rollout was killed."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from zerodrop.errors import RolloutLocked
from zerodrop.private_files import private_dir, private_open


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
    path = _lock_file(private_dir(state_dir), project)
    with private_open(path, "a+") as handle:
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
