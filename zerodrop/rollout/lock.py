"""One rollout of a project at a time: a file lock the kernel lets go of if its holder dies, and
what the holder wrote (its pid, purpose, start, and the replica count it started from), so the
next one can tell that an earlier rollout was killed, or did not finish cleanly, and how many
replicas the service is meant to have. The marker is cleared only after a clean finish."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from zerodrop.errors import InputError, RolloutLocked, RolloutStopped
from zerodrop.private_files import private_dir, private_open

REPLICAS = re.compile(r"\bfrom (\d+) replicas?\b")


def _clean(error: BaseException | None) -> bool:
    """Whether the block ended cleanly: no error, bad input (nothing changed), or a rollout
    stopped with its batch undone and nothing left behind. Anything else (a recover that failed,
    an error no undo answered for) keeps the marker, as evidence for the next look."""
    if error is None or isinstance(error, InputError):
        return True
    return isinstance(error, RolloutStopped) and error.undone and not error.left_behind


def _lock_file(state_dir: Path, project: str) -> Path:
    return state_dir / f"{project}.rollout.lock"


@dataclass(frozen=True)
class LockState:
    """The rollout lock as found: held by a live process, stale (its holder died without letting
    go, e.g. SIGKILL), or free. `holder` is what the holder wrote: pid, target, start time."""

    held: bool
    stale: bool
    holder: str = ""

    @property
    def replicas(self) -> int | None:
        """The replica count the holder started from, if it wrote one."""
        found = REPLICAS.search(self.holder)
        return int(found.group(1)) if found else None


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
def rollout_lock(
    state_dir: Path, project: str, purpose: str = "", replicas: int | None = None
) -> Iterator[LockState]:
    """Hold the project's rollout lock for the block; RolloutLocked at once if another holds it.
    The kernel releases it if the process dies, but what the holder wrote stays: the LockState
    yielded says whether the previous holder ended without finishing cleanly (stale). The holder
    writes the replica count it starts from (`replicas`, else a stale predecessor's); the marker
    is cleared only when the block ends cleanly (`_clean`)."""
    path = _lock_file(private_dir(state_dir), project)
    with private_open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RolloutLocked(f"a rollout of project {project!r} is already running ({holder})") from None
        handle.seek(0)
        text = handle.read().strip()
        previous = LockState(False, bool(text), text)
        # A stale predecessor's count wins: it was read before that rollout added any replica.
        count = previous.replicas if previous.stale and previous.replicas else replicas
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"pid {os.getpid()}{', ' + purpose if purpose else ''}, since {time.strftime('%H:%M:%S')}"
            + (f", from {count} replicas" if count is not None else "")
        )
        handle.flush()
        error: BaseException | None = None
        try:
            yield previous
        except BaseException as raised:
            error = raised
            raise
        finally:
            if _clean(error):
                handle.seek(0)
                handle.truncate()
                handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
