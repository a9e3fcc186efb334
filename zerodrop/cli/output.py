"""What a `zerodrop` command says, and where. For people: lines on stdout, errors as one line on
stderr. With `--json`: stdout carries only JSON lines, one object a line, each naming its
`event` (note, begin and end of a phase, error, result); the last is always one `result`, with
the outcome and exit status. docs/reference-zerodrop.md#json documents the shape and
tests/unit/cli/test_json_output.py holds every command to its schema."""

from __future__ import annotations

import json
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from zerodrop.errors import (
    EXIT_BAD_INPUT,
    EXIT_CUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SIGNAL_BASE,
    EXIT_UNAVAILABLE,
    EXIT_UNVERIFIED,
)

OUTCOMES = {
    EXIT_OK: "done",
    EXIT_FAILED: "failed",
    EXIT_BAD_INPUT: "refused",
    EXIT_CUT: "cut",
    EXIT_UNVERIFIED: "unverified",
    EXIT_UNAVAILABLE: "unavailable",
}


def outcome_of(exit_code: int) -> str:
    """The outcome a rollout's exit status stands for (128 + N: interrupted)."""
    return "interrupted" if exit_code > EXIT_SIGNAL_BASE else OUTCOMES.get(exit_code, "failed")


@dataclass
class Output:
    """Where one command's words go; `context` is what every result carries (command, service,
    project, from, to), filled in as the command learns it."""

    json: bool = False
    context: dict[str, Any] = field(default_factory=dict)
    finished: bool = False  # the result has been said

    def emit(self, event: str, **fields: Any) -> None:
        """One JSON object on stdout (with --json only; a closed stdout ends nothing)."""
        if self.json:
            with suppress(OSError):
                print(json.dumps({"event": event, **fields}), flush=True)

    def say(self, line: str) -> None:
        """A line for people; with --json, a note object instead."""
        if self.json:
            self.emit("note", message=line)
        else:
            with suppress(OSError):
                print(line, flush=True)

    def error(self, line: str, kind: str, exit_code: int) -> None:
        """A failure: its one line on stderr always, and with --json also an error object."""
        with suppress(OSError):
            print(line, file=sys.stderr, flush=True)
        self.emit("error", kind=kind, message=line, exit_code=exit_code)

    def result(self, exit_code: int, outcome: str | None = None, **fields: Any) -> int:
        """The command's last word (with --json); its exit status, returned for the command to end."""
        if not self.finished:
            self.finished = True
            self.emit("result", outcome=outcome or outcome_of(exit_code), exit_code=exit_code,
                      **{**self.context, **fields})  # fmt: skip
        return exit_code
