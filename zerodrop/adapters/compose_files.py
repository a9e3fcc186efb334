"""The compose files a project is made of when `docker compose` is given no `-f`, found as compose
finds them: COMPOSE_FILE (from the environment, else the project's `.env`), split on
COMPOSE_PATH_SEPARATOR; else the first default file name in the folder or the nearest parent that
has one, with its override file (`compose.override.yaml` and the like) beside it.

zerodrop needs the list only to put a file of its own on top (the new image); what the project
*is* always comes from compose itself, run with no `-f`, and the list is used only once compose,
given it, reads exactly the same configuration (zerodrop.cli.service_target)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from zerodrop.adapters.compose_file import read_env_file

DEFAULT_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)


def _from_variable(directory: Path, environ: Mapping[str, str]) -> tuple[Path, ...] | None:
    dotenv = read_env_file(directory / ".env")
    listed = environ.get("COMPOSE_FILE") or dotenv.get("COMPOSE_FILE")
    if not listed:
        return None
    separator = environ.get("COMPOSE_PATH_SEPARATOR") or dotenv.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    return tuple((directory / part).resolve() for part in listed.split(separator) if part)


def default_files(directory: Path, environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The files compose reads from `directory` with no `-f` (empty if it finds none)."""
    environ = os.environ if environ is None else environ
    listed = _from_variable(directory, environ)
    if listed is not None:
        return listed
    for folder in (directory.resolve(), *directory.resolve().parents):
        found = next((folder / name for name in DEFAULT_NAMES if (folder / name).is_file()), None)
        if found is not None:
            override = next((folder / n for n in OVERRIDE_NAMES if (folder / n).is_file()), None)
            return (found,) if override is None else (found, override)
    return ()
