"""Which engine the docker CLI would talk to: DOCKER_HOST, else the active `docker context`
(DOCKER_CONTEXT, else the CLI config's currentContext), else the default socket. The SDK's
`docker.from_env()` reads only DOCKER_HOST, so on Docker Desktop for Linux, Colima or OrbStack
`docker ps` works while the SDK finds no engine; the lab resolves the endpoint as the CLI does."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_HOST = "unix:///var/run/docker.sock"


def config_dir(environ: Mapping[str, str]) -> Path:
    """The docker CLI's configuration folder: DOCKER_CONFIG, else ~/.docker."""
    configured = environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path(environ.get("HOME", str(Path.home()))) / ".docker"


def current_context(environ: Mapping[str, str]) -> str:
    """The active context's name: DOCKER_CONTEXT, else config.json's currentContext, else default."""
    if environ.get("DOCKER_CONTEXT"):
        return environ["DOCKER_CONTEXT"]
    try:
        config = json.loads((config_dir(environ) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "default"
    name = config.get("currentContext") if isinstance(config, dict) else None
    return str(name) if name else "default"


def context_host(name: str, environ: Mapping[str, str]) -> str | None:
    """The Docker endpoint a named context stores (its meta.json), None if it has none."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir(environ) / "contexts" / "meta" / digest / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        host = data["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(host) if host else None


def docker_endpoint(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The engine's address as the docker CLI resolves it, and where it came from."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        return env["DOCKER_HOST"], "DOCKER_HOST"
    name = current_context(env)
    if name != "default":
        host = context_host(name, env)
        if host is not None:
            return host, f"docker context {name!r}"
    return DEFAULT_HOST, "the default socket"
