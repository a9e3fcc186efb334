"""The `docker` CLI, for what the SDK cannot do (compose, stack): one way to run it and report a
failure."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from zerodrop.errors import DockerCliError

STOP_POLL_SECONDS = 0.25  # how often a running command looks whether it should stop
END_GRACE_SECONDS = 5.0  # a command asked to end gets this long before SIGKILL


def run_docker(
    *args: str,
    env: Mapping[str, str],
    error: type[DockerCliError] = DockerCliError,
    cwd: Path | None = None,
    capture: bool = True,
    timeout: float = 900,
    name: str = "",
    should_stop: Callable[[], bool] = lambda: False,
) -> str:
    """Run `docker <args>` with exactly `env` and return its output; `error` (naming the command as
    `docker <name>`, and carrying its last 15 lines) on a non-zero exit, after `timeout` seconds,
    or as soon as `should_stop()` says so (a rollout's interrupt): the command is then ended.

    In a session of its own: a Ctrl-C at the terminal reaches the lab, which finishes or undoes
    its step, and never a docker command half-way through creating containers or services."""
    shown = f"docker {name or ' '.join(args)}"
    program = shutil.which("docker") or shutil.which("docker", path=env.get("PATH"))
    if program is None:
        raise error(f"`{shown}`: no docker command on PATH: install the Docker CLI (and its compose plugin)")
    process = subprocess.Popen(
        [program, *args],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
        start_new_session=True,
    )
    started = time.monotonic()
    while True:
        try:
            stdout, stderr = process.communicate(timeout=STOP_POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            took = time.monotonic() - started
            reason = "interrupted" if should_stop() else "timed out" if took > timeout else ""
            if reason:
                _end(process)
                raise error(f"`{shown}` {reason} after {took:.0f}s; the command was ended") from None
    if process.returncode != 0:
        tail = "\n".join(((stdout or "") + (stderr or "")).strip().splitlines()[-15:])
        failed = error(f"`{shown}` failed (exit {process.returncode}):\n{tail}")
        failed.output = tail
        raise failed
    return stdout or ""


def _end(process: subprocess.Popen[str]) -> None:
    """End a command and everything it started (its own session): SIGTERM, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.communicate(timeout=END_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
