"""Run one replica: `python -m zerodrop_app`."""

from __future__ import annotations

import logging
import sys

import uvicorn

from .api import create_app
from .server import LameDuckServer
from .settings import AppSettings
from .state import ReplicaState

EXIT_SHUTDOWN_FAILED = 1  # acknowledged writes could not be persisted: never a clean exit


def build_server(settings: AppSettings, host: str = "0.0.0.0") -> LameDuckServer:
    """A lame-duck uvicorn server for the app, configured from `settings`."""
    state = ReplicaState(replica=settings.replica)
    config = uvicorn.Config(
        create_app(settings, state),
        host=host,
        port=settings.port,
        # Above Traefik's idle timeout for backend connections, so the proxy always closes an
        # idle connection first and never reuses one the app is closing (no sporadic 502s).
        timeout_keep_alive=int(settings.keepalive_seconds),
        # In-flight requests get this long after the socket closes; below the stop grace period.
        timeout_graceful_shutdown=int(settings.graceful_timeout),
        access_log=False,
        log_level="info",
    )
    return LameDuckServer(config, state, drain_seconds=settings.drain_seconds)


def main() -> None:
    """Entry point of the container."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = build_server(AppSettings.from_env())
    server.run()
    if server.state.shutdown_failed:
        sys.exit(EXIT_SHUTDOWN_FAILED)


if __name__ == "__main__":
    main()
