"""The `docker compose` CLI for one project (what the SDK cannot do: build, up, down, logs)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zerodrop.adapters.docker_cli import run_docker
from zerodrop.errors import ComposeError
from zerodrop.target import ComposeTarget

BUILD_TIMEOUT = 900.0  # a build (or a first `up` that builds) may download and compile for long
SCALE_TIMEOUT = 120.0  # adding replicas creates containers from local images: seconds, not minutes


def compose_args(cfg: ComposeTarget, *args: str, extra_files: Sequence[Path] = ()) -> list[str]:
    """The arguments of `docker compose` for the target's project: its files (and `extra_files`
    on top), env files, profiles and project directory, as compose's own flags."""
    flags = ["-p", cfg.project] if cfg.project else []  # none: compose names it (zerodrop rollout)
    flags += [arg for path in (*cfg.compose_files, *extra_files) for arg in ("-f", str(path))]
    flags += [arg for path in cfg.env_files for arg in ("--env-file", str(path))]
    flags += [arg for name in cfg.profiles for arg in ("--profile", name)]
    if cfg.project_directory is not None:
        flags += ["--project-directory", str(cfg.project_directory)]
    return ["compose", *flags, *args]


def run_compose(
    cfg: ComposeTarget,
    *args: str,
    extra_env: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
    capture: bool = True,
    timeout: float = BUILD_TIMEOUT,
    should_stop: Callable[[], bool] = lambda: False,
    extra_files: Sequence[Path] = (),
) -> str:
    """Run a compose command and return its output; ComposeError on a non-zero exit, after
    `timeout`, or once `should_stop()` (an interrupt) says so.

    Variables, weakest first: `defaults` (e.g. what the last rollout deployed), the environment,
    the lab's settings, then `extra_env`."""
    for path in cfg.compose_files:
        if not path.is_file():
            raise ComposeError(f"compose file not found: {path}")
    env = {**(defaults or {}), **os.environ, **cfg.compose_env(), **(extra_env or {})}
    return run_docker(
        *compose_args(cfg, *args, extra_files=extra_files),
        env=env,
        error=ComposeError,
        cwd=cfg.project_directory or (cfg.compose_file.parent if cfg.compose_files else Path.cwd()),
        capture=capture,
        timeout=timeout,
        name=f"compose {' '.join(args)}",
        should_stop=should_stop,
    )


def build(
    cfg: ComposeTarget,
    services: Sequence[str] = (),
    extra_env: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Build the images of the given services (all with a build section when empty)."""
    run_compose(cfg, "build", *services, extra_env=extra_env, defaults=defaults, should_stop=should_stop)


def up(
    cfg: ComposeTarget,
    *flags: str,
    extra_env: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
    timeout: float = BUILD_TIMEOUT,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """`docker compose up -d` with extra flags (e.g. --remove-orphans)."""
    run_compose(
        cfg,
        "up",
        "-d",
        *flags,
        extra_env=extra_env,
        defaults=defaults,
        timeout=timeout,
        should_stop=should_stop,
    )


def scale(
    cfg: ComposeTarget,
    total: int,
    extra_env: dict[str, str] | None = None,
    *,
    start: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
    extra_files: Sequence[Path] = (),
) -> None:
    """Add replicas of the lab's service until it has `total`, leaving the existing ones alone
    (`up --no-deps --no-recreate --no-build --scale`): new ones are ordinary members of the project.
    With `start=False` (`--no-start`) they are only created, and compose counts stopped containers
    too: it never starts a stopped one again this way, and the caller starts the new ones."""
    flags = ["--no-deps", "--no-recreate", "--no-build", *([] if start else ["--no-start"])]
    run_compose(
        cfg,
        "up",
        "-d",
        *flags,
        "--scale",
        f"{cfg.service}={total}",
        cfg.service,
        extra_env=extra_env,
        timeout=SCALE_TIMEOUT,
        should_stop=should_stop,
        extra_files=extra_files,
    )


def config(cfg: ComposeTarget) -> dict[str, Any]:
    """The project's merged configuration, as compose resolves it from every file, env file and
    profile (`docker compose config --format json`)."""
    text = run_compose(cfg, "config", "--format", "json", timeout=SCALE_TIMEOUT)
    try:
        data: dict[str, Any] = json.loads(text)
    except ValueError:
        raise ComposeError(f"docker compose config did not answer JSON: {text[:200]}") from None
    return data


def config_hashes(cfg: ComposeTarget, extra_files: Sequence[Path] = ()) -> dict[str, str]:
    """The config hash compose computes now for every service (`docker compose config --hash '*'`):
    what it compares with its containers' `com.docker.compose.config-hash` label."""
    text = run_compose(cfg, "config", "--hash", "*", timeout=SCALE_TIMEOUT, extra_files=extra_files)
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def recreate(
    cfg: ComposeTarget, service: str, *, timeout: float, should_stop: Callable[[], bool] = lambda: False
) -> None:
    """compose's own `up -d` of one service, its dependencies left alone, until it runs (healthy
    when it has a healthcheck): `up -d --no-deps --no-build --wait --wait-timeout`."""
    run_compose(
        cfg, "up", "-d", "--no-deps", "--no-build", "--wait", "--wait-timeout", str(max(1, round(timeout))),
        service, timeout=timeout + SCALE_TIMEOUT, should_stop=should_stop,
    )  # fmt: skip


def down(cfg: ComposeTarget, grace: int = 40) -> None:
    """Remove every container, network and volume of the project, each container stopped with at
    most `grace` seconds."""
    run_compose(cfg, "down", "--volumes", "--remove-orphans", "--timeout", str(grace))


def logs(cfg: ComposeTarget, follow: bool = False, tail: int = 100) -> None:
    """Stream the project's logs to the terminal."""
    flags = ["--tail", str(tail)] + (["--follow"] if follow else [])
    run_compose(cfg, "logs", *flags, capture=False, timeout=24 * 3600)
