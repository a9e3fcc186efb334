"""Argument types and options both command lines share: one-line usage errors, finite numbers
only, files checked before any work, the probe's stream options."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, NoReturn

from zerodrop.errors import EXIT_BAD_INPUT
from zerodrop.measure.probe_data import MAX_LONG_SECONDS


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print `<tool>: <command>: <message>` (lab or zerodrop) and exit 2."""
        words = self.prog.removeprefix("python -m ").split()
        self.exit(EXIT_BAD_INPUT, f"{words[0]}: {' '.join(words)}: {message}\n")


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


def writable_file(raw: str) -> Path:
    """A file path whose folder exists or can be made, and that can be written (checked before
    any work, so a long run never ends on an unwritable path)."""
    path = Path(raw)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{raw!r} cannot be written: {error.strerror or error}") from None
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


def stream_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ProbeOptions fields the stream options set."""
    fields: dict[str, Any] = {"streams": args.streams, "websockets": args.websockets}
    if hasattr(args, "stream_path"):
        fields |= {"stream_path": args.stream_path, "ws_path": args.ws_path}
    return fields
