"""Pre-flight check of a compose project for the traps the workshop teaches.

Reads the compose file itself (with `${VAR:-default}` interpolation from the environment and the
file's `.env`), so it runs without Docker. Each finding is one line naming the workshop page.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.config import read_env_file
from lab.model import LabInputError

PAGES = {
    "grace-request": "docs/workshop/05-stop-timeout-shorter-than-the-request.md",
    "grace-shutdown-work": "docs/workshop/06-shutdown-work-longer-than-grace.md",
    "graceful-timeout": "docs/workshop/05-stop-timeout-shorter-than-the-request.md",
    "keepalive": "docs/workshop/07-keep-alive-race.md",
    "healthcheck": "docs/workshop/04-slow-start-without-readiness.md",
    "ports": "docs/workshop/02-manual-recipe.md",
    "container-name": "docs/workshop/02-manual-recipe.md",
    "networks": "docs/workshop/08-preflight-lint.md",
    "shell-cmd": "docs/workshop/03-graceful-shutdown-is-not-enough.md",
}
DOCKER_DEFAULT_STOP = 10.0  # seconds, when a service sets no stop_grace_period
UVICORN_DEFAULT_KEEPALIVE = 5.0
TRAEFIK_DEFAULT_IDLE = 90.0
VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)")


class LintInputError(LabInputError):
    """The compose file cannot be read."""


@dataclass(frozen=True)
class Finding:
    """One trap found in one service."""

    code: str
    service: str
    message: str

    def line(self) -> str:
        """'service app: <message> (see docs/workshop/NN-....md)'."""
        return f"service {self.service}: {self.message} (see {PAGES[self.code]})"


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err} and $$ substitution."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        if op in {":-", ":?"} and not value:
            return interpolate(arg, env) if op == ":-" else ""
        if op == "-" and value is None:
            return interpolate(arg, env)
        return value or ""

    return VARIABLE.sub(substitute, text)


def parse_duration(value: object, default: float) -> float:
    """Seconds from a compose duration ('1m30s', '45s', '500ms') or a number."""
    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise LintInputError(f"cannot read duration {value!r}")
    return sum(float(n) * scale[u] for n, u in parts)


def load_compose(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file as data, variables interpolated (environment over the file's .env)."""
    if not path.is_file():
        raise LintInputError(f"compose file not found: {path}")
    env = {**read_env_file(path.parent / ".env"), **(os.environ if environ is None else environ)}
    try:
        data = yaml.safe_load(interpolate(path.read_text(encoding="utf-8"), env))
    except yaml.YAMLError as error:
        raise LintInputError(f"{path}: not valid YAML ({error.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise LintInputError(f"{path}: no services")
    return data


def _labels(service: dict[str, Any]) -> dict[str, str]:
    labels = service.get("labels") or {}
    if isinstance(labels, list):
        pairs = (str(item).partition("=") for item in labels)
        return {key: value for key, _, value in pairs}
    return {str(k): str(v) for k, v in labels.items()}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(str(item).split("=", 1) for item in env if "=" in str(item))
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _flag(args: list[str], name: str) -> str | None:
    """The value of --name=value or --name value in an argument list (case-insensitive name)."""
    lowered = name.lower()
    for i, arg in enumerate(args):
        key, sep, value = arg.partition("=")
        if key.lower() == lowered:
            if sep:
                return value
            return args[i + 1] if i + 1 < len(args) else ""
    return None


def _number(env: dict[str, str], name: str) -> float | None:
    raw = env.get(name)
    try:
        return float(raw) if raw not in {None, ""} else None
    except ValueError:
        return None


def _setting(args: list[str], flag: str, env: dict[str, str], variable: str) -> float | None:
    """A uvicorn setting from its command-line flag, else from the app's environment variable."""
    raw = _flag(args, flag)
    return float(raw) if raw else _number(env, variable)


def _is_traefik(service: dict[str, Any]) -> bool:
    return "traefik" in str(service.get("image", "")).lower() or any(
        arg.startswith("--providers.docker") for arg in _command(service)
    )


def _shell_form_cmd(service: dict[str, Any], compose_dir: Path) -> str | None:
    """The shell-form CMD/ENTRYPOINT (or `sh -c` command) the service starts with, if any."""
    command = _command(service)
    if command[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
        return "command runs under `sh -c`"
    build = service.get("build")
    if not build or command:
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


def lint_compose(data: dict[str, Any], compose_dir: Path) -> list[Finding]:
    """Every trap found in the compose data."""
    services: dict[str, dict[str, Any]] = data["services"]
    traefik_args = next((_command(s) for s in services.values() if _is_traefik(s)), [])
    proxy_idle = parse_duration(
        _flag(traefik_args, "--serversTransport.forwardingTimeouts.idleConnTimeout"), TRAEFIK_DEFAULT_IDLE
    )
    provider_network = _flag(traefik_args, "--providers.docker.network")
    findings: list[Finding] = []
    for name, service in services.items():
        labels = _labels(service)
        if labels.get("traefik.enable", "").lower() != "true":
            continue
        findings += _lint_routed(
            name,
            service,
            labels=labels,
            proxy_idle=proxy_idle,
            provider_network=provider_network,
            compose_dir=compose_dir,
        )
    return findings


def _lint_routed(
    name: str,
    service: dict[str, Any],
    *,
    labels: dict[str, str],
    proxy_idle: float,
    provider_network: str | None,
    compose_dir: Path,
) -> list[Finding]:
    env = _environment(service)
    args = _command(service)
    found: list[Finding] = []

    def add(code: str, message: str) -> None:
        found.append(Finding(code, name, message))

    grace = parse_duration(service.get("stop_grace_period"), DOCKER_DEFAULT_STOP)
    longest = _number(env, "SLOW_SECONDS") or _number(labels, "zerodrop.longest-request-seconds")
    drain = _number(env, "DRAIN_SECONDS") or 0.0
    work = _number(env, "SHUTDOWN_WORK_SECONDS") or 0.0
    if longest is not None and grace <= longest + drain:
        add(
            "grace-request",
            f"stop grace period {grace:g}s is not longer than the longest request "
            f"{longest:g}s + drain {drain:g}s: docker stop kills requests in flight",
        )
    elif longest is not None and grace <= longest + drain + work:
        add(
            "grace-shutdown-work",
            f"stop grace period {grace:g}s is not longer than request {longest:g}s "
            f"+ drain {drain:g}s + shutdown work {work:g}s: SIGKILL lands before the work is done",
        )
    graceful = _setting(args, "--timeout-graceful-shutdown", env, "GRACEFUL_TIMEOUT")
    if graceful is not None and graceful + drain >= grace:
        add(
            "graceful-timeout",
            f"uvicorn's graceful timeout {graceful:g}s (+ drain {drain:g}s) is not "
            f"below the stop grace period {grace:g}s: SIGKILL comes before uvicorn gives up cleanly",
        )
    keepalive = _setting(args, "--timeout-keep-alive", env, "APP_KEEPALIVE_SECONDS")
    keepalive = UVICORN_DEFAULT_KEEPALIVE if keepalive is None else keepalive
    if proxy_idle >= keepalive:
        add(
            "keepalive",
            f"Traefik keeps idle backend connections {proxy_idle:g}s, not below the app's "
            f"keep-alive {keepalive:g}s: it can reuse a connection the app is closing (502)",
        )
    healthcheck = service.get("healthcheck") or {}
    if (
        not healthcheck
        or healthcheck.get("disable") in {True, "true", "True"}
        or healthcheck.get("test") in (["NONE"], "NONE")
    ):
        add("healthcheck", "routed by Traefik but has no healthcheck: it gets traffic before it is ready")
    if service.get("ports"):
        add("ports", "publishes `ports`: a second replica cannot start beside the first during a rollout")
    if service.get("container_name"):
        add("container-name", "sets `container_name`: a second replica cannot exist during a rollout")
    networks = service.get("networks") or []
    if len(networks) > 1 and "traefik.docker.network" not in labels and not provider_network:
        add(
            "networks",
            f"is on {len(networks)} networks without a traefik.docker.network label: "
            "Traefik may pick an address it cannot reach",
        )
    shell = _shell_form_cmd(service, compose_dir)
    if shell:
        add(
            "shell-cmd",
            f"{shell}: the shell is PID 1 and does not pass SIGTERM on, so there is no "
            "graceful shutdown, only SIGKILL at the grace deadline",
        )
    return found


def lint_file(path: Path, environ: Mapping[str, str] | None = None) -> list[Finding]:
    """Findings for a compose file."""
    return lint_compose(load_compose(path, environ), path.parent)
