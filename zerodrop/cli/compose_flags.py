"""compose's own flags on a `zerodrop` command, and the merged configuration compose resolves
from them: exactly what `docker compose` with those flags reads, files found as compose finds
them when no -f is given."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from zerodrop.adapters import compose
from zerodrop.adapters.compose_files import default_files
from zerodrop.errors import ComposeError, RolloutInputError, first_line
from zerodrop.target import ComposeTarget


def add_compose_flags(parser: argparse.ArgumentParser) -> None:
    """`docker compose`'s own flags, meaning what they mean to compose."""
    parser.add_argument(
        "-f", "--file", dest="files", action="append", type=Path, default=[], help="compose file (repeatable)"
    )
    parser.add_argument("-p", "--project-name", help="compose project name")
    parser.add_argument("--project-directory", type=Path, help="compose's project directory")
    parser.add_argument(
        "--env-file", dest="env_files", action="append", type=Path, default=[], help="env file (repeatable)"
    )
    parser.add_argument(
        "--profile", dest="profiles", action="append", default=[], help="profile (repeatable)"
    )


def state_dir() -> Path:
    """Where rollout history and locks live: $ZERODROP_STATE_DIR, else $XDG_STATE_HOME/zerodrop,
    else ~/.local/state/zerodrop."""
    if os.environ.get("ZERODROP_STATE_DIR"):
        return Path(os.environ["ZERODROP_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "zerodrop"


def _flag_target(args: argparse.Namespace, service: str) -> ComposeTarget:
    """A target from the flags alone, enough to ask compose for the merged configuration (no
    files when no -f was given: compose then finds them itself)."""
    files = tuple(p.resolve() for p in args.files)
    return ComposeTarget(
        project=args.project_name or "",
        compose_files=files,
        service=service,
        http_port=0,
        api_port=0,
        app_host="",
        replicas=0,
        app_image="",
        up_timeout=300.0,
        state_dir=state_dir(),
        out_dir=Path.cwd(),
        env_files=tuple(p.resolve() for p in args.env_files),
        profiles=tuple(args.profiles),
        project_directory=args.project_directory.resolve() if args.project_directory else None,
    )


def _config(target: ComposeTarget) -> dict[str, Any]:
    """compose's merged configuration; RolloutInputError (exit 2) with compose's own words if it
    cannot read the files."""
    try:
        return compose.config(target)
    except ComposeError as error:
        said = "; ".join(line.strip() for line in error.output.splitlines() if line.strip())
        raise RolloutInputError(f"docker compose config: {said or first_line(error)}") from None


def merged_config(args: argparse.Namespace, service: str = "") -> tuple[ComposeTarget, dict[str, Any]]:
    """The target the compose flags name, and the merged configuration compose resolves from them,
    exactly as `docker compose` with these flags reads it. With no -f, compose finds the files
    (COMPOSE_FILE, the override file, parent folders); the target names them too (for a file of
    zerodrop's own on top), once compose given that list reads the same configuration."""
    flags = _flag_target(args, service)
    config = _config(flags)
    if flags.compose_files:
        return flags, config
    found = default_files(flags.project_directory or Path.cwd())
    named = flags.with_overrides(compose_files=found)
    if not found or _config(named) != config:
        shown = ", ".join(str(p) for p in found) or "none"
        raise RolloutInputError(
            f"compose reads files zerodrop could not name (found: {shown}): pass them with -f"
        )
    return named, config
