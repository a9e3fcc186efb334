"""What a compose service runs, read from its configuration and its Dockerfile: the program's
name (nginx, uvicorn, ...), and whether it starts under a shell that would not pass SIGTERM on."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from zerodrop.adapters.compose_file import command


def program(service: dict[str, Any], compose_dir: Path) -> str:
    """The name of the program a service starts: the first word of its entrypoint or command,
    else of its Dockerfile's last ENTRYPOINT or CMD, else its image's repository ("" if none)."""
    for key in ("entrypoint", "command"):
        value = service.get(key)
        words = shlex.split(value) if isinstance(value, str) else [str(v) for v in value or []]
        if words:
            return Path(words[0]).name
    build = service.get("build")
    if build:
        context = compose_dir / (build if isinstance(build, str) else build.get("context", "."))
        name = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        words = _dockerfile_start(context / name)
        if words:
            return Path(words[0]).name
    return str(service.get("image", "")).split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def _dockerfile_start(dockerfile: Path) -> list[str]:
    """The words of a Dockerfile's last ENTRYPOINT (else CMD), exec or shell form."""
    if not dockerfile.is_file():
        return []
    found: dict[str, str] = {}
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        keyword, _, rest = raw.strip().partition(" ")
        if keyword.upper() in {"CMD", "ENTRYPOINT"}:
            found[keyword.upper()] = rest.strip()
    text = found.get("ENTRYPOINT") or found.get("CMD") or ""
    try:
        words = json.loads(text) if text.startswith("[") else shlex.split(text)
    except ValueError:
        return []
    return [str(w) for w in words] if isinstance(words, list) else []


def shell_form_cmd(service: dict[str, Any], compose_dir: Path) -> str | None:
    """The shell-form CMD/ENTRYPOINT (or `sh -c` command) the service starts with, if any."""
    starts = command(service)
    if starts[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
        return "command runs under `sh -c`"
    build = service.get("build")
    if not build or starts:
        return None
    context = compose_dir / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
    if not dockerfile.is_file():
        return None
    last: str | None = None
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        keyword = line.split(" ", 1)[0].upper()
        if keyword in {"CMD", "ENTRYPOINT"}:
            last = line
    if last is None:
        return None
    keyword, _, rest = last.partition(" ")
    return (
        None
        if rest.strip().startswith("[")
        else f"Dockerfile {keyword.upper()} is shell form: {rest.strip()}"
    )
