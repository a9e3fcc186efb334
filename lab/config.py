"""Every lab setting in one place: environment first, then the project's `.env`, then defaults.

Compose reads the same `.env`, so the lab and the stack always agree on ports and names.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from zerodrop.adapters.compose_file import read_env_file
from zerodrop.errors import ConfigError
from zerodrop.target import ComposeTarget, TraefikEndpoints

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> (default, meaning); the README's variables table mirrors this.
DEFAULTS: dict[str, tuple[str, str]] = {
    "LAB_PROJECT": ("zerodrop", "compose project name of the lab"),
    "LAB_COMPOSE_FILE": ("docker-compose.yml", "compose file, relative to the repo root"),
    "LAB_SERVICE": ("app", "the service that is routed, rolled and probed"),
    "LAB_HTTP_PORT": ("8088", "Traefik's web entrypoint on 127.0.0.1"),
    "LAB_API_PORT": ("8080", "Traefik's API and dashboard on 127.0.0.1"),
    "APP_HOST": ("app.docker.localhost", "Host header the app's router matches"),
    "APP_REPLICAS": ("2", "replicas of the app"),
    "APP_IMAGE": ("zerodrop/app", "the app image's repository name (`<APP_IMAGE>:<version>`)"),
    "LAB_UP_TIMEOUT": ("300", "seconds `lab up` waits for every replica to be routed"),
    "LAB_STATE_DIR": (".lab-state", "rollout history and locks, relative to the repo root"),
    "LAB_OUT_DIR": ("out", "probe reports, rollout logs and plots, relative to the repo root"),
    # The Swarm lab (`make swarm-up`, docker-stack.yml); APP_HOST, APP_REPLICAS, APP_IMAGE are shared.
    "SWARM_STACK": ("zdswarm", "stack name of the Swarm lab"),
    "SWARM_STACK_FILE": ("docker-stack.yml", "the Swarm stack file, relative to the repo root"),
    "SWARM_HTTP_PORT": ("8098", "Traefik's web entrypoint in the Swarm lab (host mode: every interface)"),
    "SWARM_API_PORT": ("8099", "Traefik's API in the Swarm lab (host mode: every interface)"),
    "SWARM_REFRESH_SECONDS": ("15", "how often Traefik's swarm provider polls Swarm (Traefik's default 15)"),
    "SWARM_DRAIN_SECONDS": (
        "auto",
        "lame duck after SIGTERM; auto: refresh + 0.5 s throttle + 3 s, rounded up",
    ),
    "SWARM_STOP_GRACE_PERIOD": ("auto", "Swarm's stop grace; auto: lame duck + 20 s requests + 6 s"),
    "SWARM_ADVERTISE_ADDR": ("auto", "`docker swarm init --advertise-addr`; auto: the default route's IPv4"),
}


def _int(name: str, raw: str, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name}={value} must be at least {minimum}{upper}")
    return value


MAX_PORT = 65535
# compose's own rule for project names; it also keeps the state files inside LAB_STATE_DIR.
PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# A host name for Traefik's Host() rule: letters, digits, dots and dashes (a backtick would end
# the rule's string and break the router).
HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def _port(name: str, raw: str) -> int:
    return _int(name, raw, 1, MAX_PORT)


def _matching(name: str, raw: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(raw):
        raise ConfigError(f"{name}={raw!r} is not {what}")
    return raw


def setting_reader(environ: Mapping[str, str] | None, root: Path) -> Callable[[str], str]:
    """How a setting is read: the environment, else the repo's `.env`, else DEFAULTS (or "" for a
    variable DEFAULTS does not list, such as TRAEFIK_IMAGE)."""
    environ = dict(os.environ if environ is None else environ)
    from_file = read_env_file(root / ".env")

    def get(name: str) -> str:
        return environ.get(name) or from_file.get(name) or DEFAULTS.get(name, ("", ""))[0]

    return get


def load_config(environ: dict[str, str] | None = None, root: Path = REPO_ROOT) -> ComposeTarget:
    """The lab's settings from the environment, the repo's `.env`, and the defaults above."""
    get = setting_reader(environ, root)

    return ComposeTarget(
        project=_matching(
            "LAB_PROJECT", get("LAB_PROJECT"), PROJECT_NAME, "a compose project name (a-z, 0-9, _, -)"
        ),
        compose_files=(root / get("LAB_COMPOSE_FILE"),),
        service=get("LAB_SERVICE"),
        http_port=_port("LAB_HTTP_PORT", get("LAB_HTTP_PORT")),
        api_port=_port("LAB_API_PORT", get("LAB_API_PORT")),
        app_host=_matching("APP_HOST", get("APP_HOST"), HOST_NAME, "a host name (letters, digits, . and -)"),
        replicas=_int("APP_REPLICAS", get("APP_REPLICAS"), 1),
        app_image=get("APP_IMAGE"),
        up_timeout=float(_int("LAB_UP_TIMEOUT", get("LAB_UP_TIMEOUT"), 1)),
        state_dir=root / get("LAB_STATE_DIR"),
        out_dir=root / get("LAB_OUT_DIR"),
    )


# The app's healthcheck round (interval 1s + timeout 2s in docker-stack.yml), Traefik's throttle,
# and what follows the lame duck before SIGKILL would land: in-flight requests (GRACEFUL_TIMEOUT
# 20s) and the shutdown work (0.5s), plus margin.
SWARM_HEALTH_ROUND_SECONDS = 3.0
SWARM_THROTTLE_SECONDS = 0.5
SWARM_AFTER_DRAIN_SECONDS = 26


def swarm_lame_duck(refresh_seconds: int) -> int:
    """The lame-duck window a task needs under Traefik's swarm provider: one poll, the throttle
    and a healthcheck round of margin, rounded up to whole seconds."""
    return math.ceil(refresh_seconds + SWARM_THROTTLE_SECONDS + SWARM_HEALTH_ROUND_SECONDS)


@dataclass(frozen=True)
class SwarmConfig(TraefikEndpoints):
    """Resolved settings of the Swarm lab."""

    stack: str
    stack_file: Path
    http_port: int
    api_port: int
    app_host: str
    replicas: int
    app_image: str
    refresh_seconds: int
    drain_seconds: float
    stop_grace_seconds: int
    advertise_addr: str  # "auto" or an address
    up_timeout: float
    state_dir: Path
    out_dir: Path
    # TRAEFIK_IMAGE and the like, passed to `docker stack deploy` (which does not read .env).
    passthrough: Mapping[str, str] = field(default_factory=dict)

    @property
    def app_service(self) -> str:
        """The app's Swarm service name."""
        return f"{self.stack}_app"

    def stack_env(self, version: str) -> dict[str, str]:
        """The variables docker-stack.yml reads, for one version of the app."""
        return {
            **self.passthrough,
            "SWARM_STACK": self.stack,
            "SWARM_HTTP_PORT": str(self.http_port),
            "SWARM_API_PORT": str(self.api_port),
            "SWARM_REFRESH_SECONDS": str(self.refresh_seconds),
            "SWARM_DRAIN_SECONDS": f"{self.drain_seconds:g}",
            "SWARM_STOP_GRACE_PERIOD": f"{self.stop_grace_seconds}s",
            "APP_HOST": self.app_host,
            "APP_REPLICAS": str(self.replicas),
            "APP_IMAGE": self.app_image,
            "APP_VERSION": version,
        }

    def with_overrides(self, **changes: object) -> SwarmConfig:
        """A copy with some settings changed (tests use a private stack and ports)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def with_refresh(self, refresh_seconds: int, drain_seconds: float | None = None) -> SwarmConfig:
        """A copy polling every `refresh_seconds`, its lame duck and stop grace derived from it
        unless `drain_seconds` is given (0 is the broken variant: drain only on SIGTERM)."""
        drain = swarm_lame_duck(refresh_seconds) if drain_seconds is None else drain_seconds
        return replace(
            self,
            refresh_seconds=refresh_seconds,
            drain_seconds=drain,
            stop_grace_seconds=math.ceil(drain) + SWARM_AFTER_DRAIN_SECONDS,
        )


PASSTHROUGH = ("TRAEFIK_IMAGE", "TRAEFIK_LOG_LEVEL", "SLOW_SECONDS")


def load_swarm_config(environ: dict[str, str] | None = None, root: Path = REPO_ROOT) -> SwarmConfig:
    """The Swarm lab's settings from the environment, the repo's `.env`, and the defaults above."""
    get = setting_reader(environ, root)

    refresh = _int("SWARM_REFRESH_SECONDS", get("SWARM_REFRESH_SECONDS"), 1)
    raw_drain = get("SWARM_DRAIN_SECONDS")
    drain = (
        float(swarm_lame_duck(refresh))
        if raw_drain == "auto"
        else float(_int("SWARM_DRAIN_SECONDS", raw_drain, 0))
    )
    raw_grace = get("SWARM_STOP_GRACE_PERIOD").removesuffix("s")
    grace = (
        math.ceil(drain) + SWARM_AFTER_DRAIN_SECONDS
        if raw_grace == "auto"
        else _int("SWARM_STOP_GRACE_PERIOD", raw_grace, 1)
    )
    passthrough = {name: value for name in PASSTHROUGH if (value := get(name))}
    return SwarmConfig(
        stack=_matching("SWARM_STACK", get("SWARM_STACK"), PROJECT_NAME, "a stack name (a-z, 0-9, _, -)"),
        stack_file=root / get("SWARM_STACK_FILE"),
        http_port=_port("SWARM_HTTP_PORT", get("SWARM_HTTP_PORT")),
        api_port=_port("SWARM_API_PORT", get("SWARM_API_PORT")),
        app_host=_matching("APP_HOST", get("APP_HOST"), HOST_NAME, "a host name (letters, digits, . and -)"),
        replicas=_int("APP_REPLICAS", get("APP_REPLICAS"), 1),
        app_image=get("APP_IMAGE"),
        refresh_seconds=refresh,
        drain_seconds=drain,
        stop_grace_seconds=grace,
        advertise_addr=get("SWARM_ADVERTISE_ADDR"),
        up_timeout=float(_int("LAB_UP_TIMEOUT", get("LAB_UP_TIMEOUT"), 1)),
        state_dir=root / get("LAB_STATE_DIR"),
        out_dir=root / get("LAB_OUT_DIR"),
        passthrough=passthrough,
    )


def lab_environment(cfg: ComposeTarget) -> dict[str, str]:
    """Variables that point another `python -m lab` process at this stack (its project, ports,
    replica count, state and output folders, and its compose variables but APP_VERSION,
    which the lab takes from the rollout history)."""
    return {
        "LAB_PROJECT": cfg.project,
        "LAB_HTTP_PORT": str(cfg.http_port),
        "LAB_API_PORT": str(cfg.api_port),
        "APP_REPLICAS": str(cfg.replicas),
        "APP_HOST": cfg.app_host,
        "LAB_STATE_DIR": str(cfg.state_dir),
        "LAB_OUT_DIR": str(cfg.out_dir),
        **{k: v for k, v in cfg.variables.items() if k != "APP_VERSION"},
    }
