"""The `docker compose` CLI for one project (what the SDK cannot do: build, up, down, logs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from zerodrop.adapters.docker_cli import run_docker
from zerodrop.errors import ComposeError
from zerodrop.target import ComposeTarget

BUILD_TIMEOUT = 900.0  # a build (or a first `up` that builds) may download and compile for long
SCALE_TIMEOUT = 120.0  # adding replicas creates containers from local images: seconds, not minutes


def compose_args(cfg: ComposeTarget, *args: str) -> list[str]:
    """The arguments of `docker compose` for the lab's project and files."""
    files = [arg for path in cfg.compose_files for arg in ("-f", str(path))]
    return ["compose", "-p", cfg.project, *files, *args]


def run_compose(
    cfg: ComposeTarget,
    *args: str,
    extra_env: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
    capture: bool = True,
    timeout: float = BUILD_TIMEOUT,
    should_stop: Callable[[], bool] = lambda: False,
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
        *compose_args(cfg, *args),
        env=env,
        error=ComposeError,
        cwd=cfg.compose_file.parent,
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
) -> None:
    """Add replicas of the lab's service until it has `total`, leaving the existing ones alone
    (`up --no-deps --no-recreate --no-build --scale`): new ones are ordinary members of the project.
    With `start=False` (`--no-start`) they are only created, and compose counts stopped containers
    too: it never starts a stopped one again this way, and the caller starts the new ones."""
    flags = ["--no-deps", "--no-recreate", "--no-build", *([] if start else ["--no-start"])]
    up(
        cfg,
        *flags,
        "--scale",
        f"{cfg.service}={total}",
        cfg.service,
        extra_env=extra_env,
        timeout=SCALE_TIMEOUT,
        should_stop=should_stop,
    )


def down(cfg: ComposeTarget) -> None:
    """Remove every container, network and volume of the project."""
    run_compose(cfg, "down", "--volumes", "--remove-orphans", "--timeout", "40")


def logs(cfg: ComposeTarget, follow: bool = False, tail: int = 100) -> None:
    """Stream the project's logs to the terminal."""
    flags = ["--tail", str(tail)] + (["--follow"] if follow else [])
    run_compose(cfg, "logs", *flags, capture=False, timeout=24 * 3600)
