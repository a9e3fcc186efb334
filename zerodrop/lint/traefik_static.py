"""What lint needs of Traefik's static configuration: how long it keeps idle backend connections,
how often it applies provider events, and the docker provider's network. Read from the command
flags of a Traefik service in the compose files, or from a traefik.yml (`--traefik-config`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from zerodrop.adapters.compose_file import command, flag, traefik_service
from zerodrop.durations import parse_duration
from zerodrop.errors import LintInputError
from zerodrop.rollout.deadlines import THROTTLE_FLAG, TRAEFIK_DEFAULT_THROTTLE

TRAEFIK_DEFAULT_IDLE = 90.0  # serversTransport.forwardingTimeouts.idleConnTimeout's default
IDLE_FLAG = "--serversTransport.forwardingTimeouts.idleConnTimeout"
NETWORK_FLAG = "--providers.docker.network"
EXPOSED_FLAG = "--providers.docker.exposedByDefault"


def _true(value: object, default: bool) -> bool:
    """A Traefik boolean: a bare flag or `true` is true."""
    if value is None:
        return default
    return str(value).strip().lower() in {"", "true", "1"}


@dataclass(frozen=True)
class TraefikStatic:
    """The settings the rules weigh, with Traefik's defaults where unset."""

    idle: float = TRAEFIK_DEFAULT_IDLE
    throttle: float = TRAEFIK_DEFAULT_THROTTLE
    network: str | None = None
    source: str = "Traefik's defaults"
    exposed_by_default: bool = True  # providers.docker.exposedByDefault: routes without traefik.enable


def from_flags(args: list[str], source: str = "the Traefik service's flags") -> TraefikStatic:
    """The settings as Traefik's command-line flags give them."""
    return TraefikStatic(
        idle=parse_duration(flag(args, IDLE_FLAG), TRAEFIK_DEFAULT_IDLE),
        throttle=parse_duration(flag(args, THROTTLE_FLAG), TRAEFIK_DEFAULT_THROTTLE),
        network=flag(args, NETWORK_FLAG),
        source=source,
        exposed_by_default=_true(flag(args, EXPOSED_FLAG), True),
    )


def _at(data: Any, *keys: str) -> Any:
    """A nested key of YAML data, matched case-insensitively (Traefik's file keys are)."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = next((v for k, v in data.items() if str(k).lower() == key.lower()), None)
    return data


def from_file(path: Path) -> TraefikStatic:
    """The settings of a static configuration file (YAML; TOML is not read); LintInputError if
    it cannot be read."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise LintInputError(f"--traefik-config {path}: {type(error).__name__}: {error}") from None
    if not isinstance(data, dict):
        raise LintInputError(f"--traefik-config {path}: not a YAML mapping")
    idle = _at(data, "serversTransport", "forwardingTimeouts", "idleConnTimeout")
    throttle = _at(data, "providers", "providersThrottleDuration")
    network = _at(data, "providers", "docker", "network")
    return TraefikStatic(
        idle=parse_duration(idle, TRAEFIK_DEFAULT_IDLE),
        throttle=parse_duration(throttle, TRAEFIK_DEFAULT_THROTTLE),
        network=None if network is None else str(network),
        source=str(path),
        exposed_by_default=_true(_at(data, "providers", "docker", "exposedByDefault"), True),
    )


def static_of(services: dict[str, dict[str, Any]]) -> TraefikStatic:
    """Traefik's settings from the flags of the service that runs it (its defaults if none)."""
    found = traefik_service(services)
    return from_flags(command(found)) if found is not None else TraefikStatic()
