"""The `docker` CLI, for what the SDK cannot do (compose, stack): one way to run it and report a
failure."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path


class DockerCliError(RuntimeError):
    """A docker CLI command failed; the message carries the end of its output."""


def run_docker(
    *args: str,
    env: Mapping[str, str],
    error: type[DockerCliError] = DockerCliError,
    cwd: Path | None = None,
    capture: bool = True,
    timeout: float = 900,
    name: str = "",
) -> str:
    """Run `docker <args>` with exactly `env` and return its output; `error` (naming the command as
    `docker <name>`, and carrying its last 15 lines) on a non-zero exit.

    In a session of its own: a Ctrl-C at the terminal reaches the lab, which finishes or undoes
    its step, and never a docker command half-way through creating containers or services."""
    result = subprocess.run(
        [shutil.which("docker") or "docker", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
        start_new_session=True,
    )
    if result.returncode != 0:
        tail = "\n".join(((result.stdout or "") + (result.stderr or "")).strip().splitlines()[-15:])
        raise error(f"`docker {name or ' '.join(args)}` failed (exit {result.returncode}):\n{tail}")
    return result.stdout or ""
