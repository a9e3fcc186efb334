"""zerodrop's state on disk (locks, history, phase logs, override files) is private to the user who
runs it: the folders it makes 0700, its files 0600. A Traefik API URL may carry a password, and
the phase log says what ran where."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO, cast

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """A state folder: every missing folder up to it created 0700, and it made 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
    path.chmod(FOLDER_MODE)
    return path


def private_open(path: Path, mode: str) -> TextIO:
    """A text file opened as `open` would (w, a, a+, ...), created 0600 and kept so; a missing
    parent folder is made 0700 (an existing one is left as it is)."""
    if not path.parent.exists():
        private_dir(path.parent)
    flags = os.O_RDWR | os.O_CREAT
    flags |= os.O_TRUNC if mode.startswith("w") else 0
    flags |= os.O_APPEND if mode.startswith("a") else 0
    handle = cast(TextIO, os.fdopen(os.open(path, flags, FILE_MODE), mode, encoding="utf-8"))
    path.chmod(FILE_MODE)
    return handle


def private_write(path: Path, text: str) -> None:
    """Write a whole text file, 0600."""
    with private_open(path, "w") as handle:
        handle.write(text)
