"""The app's settings, read once from the environment (defaults documented in the README)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


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
    data_dir: Path = Path("/data")

    @classmethod
    def from_env(cls) -> AppSettings:
        """Settings from APP_VERSION, SLOW_SECONDS, DRAIN_SECONDS and the other documented variables."""
        return cls(
            version=os.environ.get("APP_VERSION", cls.version),
            replica=os.environ.get("APP_REPLICA") or socket.gethostname(),
            port=int(os.environ.get("APP_PORT", cls.port)),
            slow_seconds=_float("SLOW_SECONDS", cls.slow_seconds),
            ping_seconds=_float("PING_SECONDS", cls.ping_seconds),
            startup_delay=_float("STARTUP_DELAY", cls.startup_delay),
            drain_seconds=_float("DRAIN_SECONDS", cls.drain_seconds),
            graceful_timeout=_float("GRACEFUL_TIMEOUT", cls.graceful_timeout),
            shutdown_work_seconds=_float("SHUTDOWN_WORK_SECONDS", cls.shutdown_work_seconds),
            keepalive_seconds=_float("APP_KEEPALIVE_SECONDS", cls.keepalive_seconds),
            data_dir=Path(os.environ.get("DATA_DIR", str(cls.data_dir))),
        )
