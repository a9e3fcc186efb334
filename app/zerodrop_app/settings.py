"""The app's settings, read once from the environment (defaults documented in the README)."""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """A setting the app cannot run with (the process says which, in one line, and exits 2)."""


def _float(name: str, default: float) -> float:
    """A duration in seconds: a finite, non-negative number (fractions kept)."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{name}={raw!r} must be a finite number of seconds, 0 or more")
    return value


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_PORT:
        raise SettingsError(f"{name}={raw!r} is not a port (1-{MAX_PORT})")
    return int(raw)


MAX_PORT = 65535


@dataclass(frozen=True)
class AppSettings:
    """Everything the app can be told; one instance per process."""

    version: str = "v1"
    replica: str = "local"
    port: int = 8000
    slow_seconds: float = 15.0
    ping_seconds: float = 10.0
    startup_delay: float = 0.0
    drain_seconds: float = 5.0
    graceful_timeout: float = 20.0
    shutdown_work_seconds: float = 0.5
    keepalive_seconds: float = 30.0
    stream_linger: float = 0.0  # how long an SSE response stays open after its goodbye, before the end
    data_dir: Path = Path("/data")

    @property
    def longest_request(self) -> float:
        """The longest ?seconds= a slow request may ask: what a stop lets finish (the lame-duck
        window, then the graceful timeout), so no request outlives a graceful stop."""
        return self.drain_seconds + self.graceful_timeout

    @classmethod
    def from_env(cls) -> AppSettings:
        """Settings from APP_VERSION, SLOW_SECONDS, DRAIN_SECONDS and the other documented variables."""
        return cls(
            version=os.environ.get("APP_VERSION", cls.version),
            replica=os.environ.get("APP_REPLICA") or socket.gethostname(),
            port=_port("APP_PORT", cls.port),
            slow_seconds=_float("SLOW_SECONDS", cls.slow_seconds),
            ping_seconds=_float("PING_SECONDS", cls.ping_seconds),
            startup_delay=_float("STARTUP_DELAY", cls.startup_delay),
            drain_seconds=_float("DRAIN_SECONDS", cls.drain_seconds),
            graceful_timeout=_float("GRACEFUL_TIMEOUT", cls.graceful_timeout),
            shutdown_work_seconds=_float("SHUTDOWN_WORK_SECONDS", cls.shutdown_work_seconds),
            keepalive_seconds=_float("APP_KEEPALIVE_SECONDS", cls.keepalive_seconds),
            stream_linger=_float("STREAM_LINGER_SECONDS", cls.stream_linger),
            data_dir=Path(os.environ.get("DATA_DIR", str(cls.data_dir))),
        )
