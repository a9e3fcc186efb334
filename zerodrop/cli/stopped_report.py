"""What both rollout commands (`zerodrop rollout`, `python -m lab rollout`) print when a rollout
stopped before its end, and its exit status; printed so that a terminal that has gone away (a
SIGHUP) cannot turn the report into a traceback."""

from __future__ import annotations

from contextlib import suppress

from zerodrop.errors import RolloutStopped


def say(line: str) -> None:
    """Print a line if the terminal is still there."""
    with suppress(OSError):
        print(line, flush=True)


def report_stopped(stopped: RolloutStopped, prefix: str) -> int:
    """'PREFIX: rollout stopped (why); its current batch was undone', what it left behind and
    what serves now; the exit status the error carries (1, or 128 + the signal's number)."""
    undone = "its current batch was undone" if stopped.undone else "nothing was left to undo"
    say(f"{prefix}: rollout stopped ({stopped}); {undone}")
    for line in stopped.left_behind:
        say(f"{prefix}: left behind: {line}")
    for line in stopped.now:
        say(f"{prefix}: {line}")
    return stopped.exit_code
