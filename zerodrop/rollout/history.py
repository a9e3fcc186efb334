"""What each project last rolled from and to, and how it ended (for `lab rollback` and `lab up`)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zerodrop.errors import HistoryUnreadable
from zerodrop.model import Release
from zerodrop.private_files import private_dir, private_write


@dataclass(frozen=True)
class HistoryEntry:
    """One rollout that ended: done, unverified (done, but the last request through the
    entrypoint did not answer as declared), failed (its batch undone) or interrupted."""

    from_release: Release
    to_release: Release
    finished_at: float
    outcome: str = "done"


def _history_file(state_dir: Path, project: str) -> Path:
    return state_dir / f"{project}.history.json"


def load_history(state_dir: Path, project: str) -> list[HistoryEntry]:
    """Every recorded rollout of a project, oldest first."""
    path = _history_file(state_dir, project)
    if not path.is_file():
        return []
    try:
        raw: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return [
            HistoryEntry(
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


def remember_rollout(
    state_dir: Path, project: str, from_release: Release, to_release: Release, outcome: str = "done"
) -> None:
    """Append a rollout that ended (done, failed or interrupted) to the project's history."""
    private_dir(state_dir)
    records = load_history(state_dir, project)
    records.append(HistoryEntry(from_release, to_release, time.time(), outcome))
    path = _history_file(state_dir, project)
    tmp = path.with_suffix(".tmp")
    private_write(tmp, json.dumps([asdict(r) for r in records], indent=2))
    tmp.replace(path)


DEPLOYED = ("done", "unverified")  # outcomes after which every replica runs the new release


def current_release(state_dir: Path, project: str) -> Release | None:
    """What the last completed rollout deployed, if any."""
    records = [r for r in load_history(state_dir, project) if r.outcome in DEPLOYED]
    return records[-1].to_release if records else None


def previous_release(state_dir: Path, project: str) -> Release | None:
    """What the service ran before the last completed rollout, if any."""
    records = [r for r in load_history(state_dir, project) if r.outcome in DEPLOYED]
    return records[-1].from_release if records else None


def forget(state_dir: Path, project: str) -> None:
    """Drop a project's history (when its stack is removed)."""
    _history_file(state_dir, project).unlink(missing_ok=True)
