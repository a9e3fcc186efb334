"""Argument types and options both command lines share: one-line usage errors, finite numbers
only, files checked before any work, the probe's stream options."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from zerodrop.durations import parse_duration
from zerodrop.errors import LintInputError, UsageExit
from zerodrop.measure.probe_data import MAX_LONG_SECONDS


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print `<tool>: <command>: <message>` (lab or zerodrop) and exit 2."""
        words = self.prog.removeprefix("python -m ").split()
        line = f"{words[0]}: {' '.join(words)}: {message}"
        self._print_message(line + "\n", sys.stderr)
        raise UsageExit(line)


def _finite(raw: str, *, zero_allowed: bool) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        wanted = "a finite number, zero or more" if zero_allowed else "a positive, finite number of seconds"
        raise argparse.ArgumentTypeError(f"{raw!r} must be {wanted}")
    return value


def finite_seconds(raw: str) -> float:
    """A positive, finite number of seconds (nan and inf refused)."""
    return _finite(raw, zero_allowed=False)


def duration(raw: str) -> float:
    """A positive, finite duration, in seconds: a number, or as compose and labels write it
    ('10s', '1m30s', '500ms')."""
    try:
        value = parse_duration(raw, 0.0)
    except LintInputError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a duration (10, 10s, 1m30s, 500ms)") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{raw!r} must be a positive, finite duration")
    return value


def finite_rate(raw: str) -> float:
    """A finite number, zero or more (nan and inf refused)."""
    return _finite(raw, zero_allowed=True)


def long_seconds(raw: str) -> float:
    """A long request's duration: positive, finite, at most MAX_LONG_SECONDS."""
    value = _finite(raw, zero_allowed=False)
    if value > MAX_LONG_SECONDS:
        raise argparse.ArgumentTypeError(f"{raw!r}: the app answers at most {MAX_LONG_SECONDS:.0f} s")
    return value


def count(raw: str) -> int:
    """A whole number, zero or more."""
    if not raw.isdigit():
        raise argparse.ArgumentTypeError(f"{raw!r} must be a whole number, zero or more")
    return int(raw)


def positive(raw: str) -> int:
    """A whole number, one or more."""
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} must be a whole number, one or more")
    return int(raw)


def _nearest_folder(path: Path) -> Path:
    """The path's nearest folder that exists (its own parent, or an ancestor)."""
    return next(p for p in path.resolve().parents if p.exists())


def writable_file(raw: str) -> Path:
    """A file path that can be written: checked before any work (so a long run never ends on an
    unwritable path), and nothing is created until the command runs."""
    path = Path(raw)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{raw!r} is a folder, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{raw!r} cannot be written")
    folder = path.parent if path.parent.exists() else _nearest_folder(path)
    try:  # a real write (os.access says yes to root even in /proc); the probe file is gone at once
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{raw!r} cannot be written: {error.strerror or error}") from None
    return path


def phase_log_file(raw: str) -> Path:
    """A phase log to (over)write: a writable file that is new, empty, or a phase log already
    (JSON lines with an `event`): anything else is refused rather than truncated."""
    path = writable_file(raw)
    if path.is_file() and path.stat().st_size:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
        try:
            ours = isinstance(doc := json.loads(first), dict) and "event" in doc and "phase" in doc
        except ValueError:
            ours = False
        if not ours:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a zerodrop phase log: refusing to overwrite it")
    return path


def add_stream_options(parser: argparse.ArgumentParser, *, paths: bool) -> None:
    """--streams and --websockets (and, for any service, their paths)."""
    parser.add_argument(
        "--streams", type=count, default=0, help="SSE streams held open, read as EventSource does (default 0)"
    )
    parser.add_argument("--websockets", type=count, default=0, help="WebSockets held open (default 0)")
    if paths:
        parser.add_argument("--stream-path", default="/stream", help="the SSE path (default /stream)")
        parser.add_argument("--ws-path", default="/ws", help="the WebSocket path (default /ws)")


def add_run_length_options(parser: argparse.ArgumentParser) -> None:
    """--duration or --until-signal, and --report: how long a probe runs and where its records go."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--duration", type=finite_seconds, default=60.0, help="seconds to run (default 60)")
    group.add_argument("--until-signal", action="store_true", help="run until Ctrl-C or SIGTERM (max 1 h)")
    parser.add_argument("--report", type=writable_file, help="save every request to this JSON file")


def stream_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ProbeOptions fields the stream options set."""
    fields: dict[str, Any] = {"streams": args.streams, "websockets": args.websockets}
    if hasattr(args, "stream_path"):
        fields |= {"stream_path": args.stream_path, "ws_path": args.ws_path}
    return fields


def schedule_options(args: argparse.Namespace) -> dict[str, Any]:
    """The RolloutOptions fields the batch and deadline flags set (both rollout commands take them)."""
    return {
        "max_surge": args.max_surge,
        "max_draining": args.max_draining,
        "overlap": args.overlap,
        "health_timeout": args.timeout,
        "route_timeout": args.route_timeout,
    }
