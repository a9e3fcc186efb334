"""Run one replica: `python -m zerodrop_app`."""

from __future__ import annotations

import logging
import math
import sys

import uvicorn

from .api import create_app
from .server import LameDuckServer
from .settings import AppSettings, SettingsError
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
        # uvicorn takes whole seconds: rounded up, so no request the settings allow is cut short.
        timeout_keep_alive=math.ceil(settings.keepalive_seconds),
        # In-flight requests get this long after the socket closes; below the stop grace period.
        timeout_graceful_shutdown=math.ceil(settings.graceful_timeout),
        access_log=False,
        log_level="info",
    )
    return LameDuckServer(config, state, drain_seconds=settings.drain_seconds)


def main() -> None:
    """Entry point of the container."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = AppSettings.from_env()
    except SettingsError as error:
        print(f"zerodrop_app: {error}", file=sys.stderr)
        sys.exit(2)
    server = build_server(settings)
    server.run()
    if server.state.shutdown_failed:
        sys.exit(EXIT_SHUTDOWN_FAILED)


if __name__ == "__main__":
    main()
