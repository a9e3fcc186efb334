"""Which engine the docker CLI would talk to: DOCKER_HOST, else the active `docker context`
(DOCKER_CONTEXT, else the CLI config's currentContext), else the default socket. The SDK's
`docker.from_env()` reads only DOCKER_HOST, so on Docker Desktop for Linux, Colima or OrbStack
`docker ps` works while the SDK finds no engine; the lab resolves the endpoint as the CLI does,
and the TLS it speaks there (DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, or the context's own)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
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


def _context_endpoint(name: str, environ: Mapping[str, str]) -> dict[str, object]:
    """A named context's docker endpoint as its meta.json stores it ({} if it has none)."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir(environ) / "contexts" / "meta" / digest / "meta.json"
    try:
        endpoint = json.loads(meta.read_text(encoding="utf-8"))["Endpoints"]["docker"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return endpoint if isinstance(endpoint, dict) else {}


def context_host(name: str, environ: Mapping[str, str]) -> str | None:
    """The Docker endpoint a named context stores (its meta.json), None if it has none."""
    host = _context_endpoint(name, environ).get("Host")
    return str(host) if host else None


@dataclass(frozen=True)
class EngineTls:
    """TLS to the engine: the files the docker CLI would use, and whether it checks the engine."""

    ca: str | None
    cert: str | None
    key: str | None
    verify: bool


def _files(folder: Path) -> tuple[str | None, str | None, str | None]:
    """ca.pem, cert.pem and key.pem in a folder, each None where absent."""
    found = [folder / name for name in ("ca.pem", "cert.pem", "key.pem")]
    ca, cert, key = (str(path) if path.is_file() else None for path in found)
    return ca, cert, key


def engine_tls(environ: Mapping[str, str] | None = None) -> EngineTls | None:
    """TLS as the docker CLI would speak it to the engine: DOCKER_TLS_VERIFY or DOCKER_TLS with
    DOCKER_CERT_PATH (else ~/.docker) when DOCKER_HOST is set, else the active context's own TLS
    files and SkipTLSVerify; None for plain connections."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
        if not verify and env.get("DOCKER_TLS", "") in ("", "0"):
            return None
        ca, cert, key = _files(Path(env.get("DOCKER_CERT_PATH") or config_dir(env)))
        return EngineTls(ca, cert, key, verify)
    name = current_context(env)
    if name == "default":
        return None
    digest = hashlib.sha256(name.encode()).hexdigest()
    ca, cert, key = _files(config_dir(env) / "contexts" / "tls" / digest / "docker")
    if not (ca or cert):
        return None
    return EngineTls(ca, cert, key, not bool(_context_endpoint(name, env).get("SkipTLSVerify")))


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
