"""The Swarm lab's settings (`make swarm-up`, docker-stack.yml), from the same environment and
`.env` as the compose lab's."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from lab.config import HOST_NAME, PROJECT_NAME, REPO_ROOT, matching, port_number, setting_reader, whole_number
from zerodrop.target import TraefikEndpoints

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
    # The engine the stack runs on, for the `docker` CLI ("" is the default one; the three-node
    # cluster's manager is tcp://127.0.0.1:CLUSTER_DOCKER_PORT).
    docker_host: str = ""

    def docker_env(self) -> dict[str, str]:
        """DOCKER_HOST for the `docker` CLI when the stack lives on another engine, else nothing."""
        return {"DOCKER_HOST": self.docker_host} if self.docker_host else {}

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

    refresh = whole_number("SWARM_REFRESH_SECONDS", get("SWARM_REFRESH_SECONDS"), 1)
    raw_drain = get("SWARM_DRAIN_SECONDS")
    drain = (
        float(swarm_lame_duck(refresh))
        if raw_drain == "auto"
        else float(whole_number("SWARM_DRAIN_SECONDS", raw_drain, 0))
    )
    raw_grace = get("SWARM_STOP_GRACE_PERIOD").removesuffix("s")
    grace = (
        math.ceil(drain) + SWARM_AFTER_DRAIN_SECONDS
        if raw_grace == "auto"
        else whole_number("SWARM_STOP_GRACE_PERIOD", raw_grace, 1)
    )
    passthrough = {name: value for name in PASSTHROUGH if (value := get(name))}
    return SwarmConfig(
        stack=matching("SWARM_STACK", get("SWARM_STACK"), PROJECT_NAME, "a stack name (a-z, 0-9, _, -)"),
        stack_file=root / get("SWARM_STACK_FILE"),
        http_port=port_number("SWARM_HTTP_PORT", get("SWARM_HTTP_PORT")),
        api_port=port_number("SWARM_API_PORT", get("SWARM_API_PORT")),
        app_host=matching("APP_HOST", get("APP_HOST"), HOST_NAME, "a host name (letters, digits, . and -)"),
        replicas=whole_number("APP_REPLICAS", get("APP_REPLICAS"), 1),
        app_image=get("APP_IMAGE"),
        refresh_seconds=refresh,
        drain_seconds=drain,
        stop_grace_seconds=grace,
        advertise_addr=get("SWARM_ADVERTISE_ADDR"),
        up_timeout=float(whole_number("LAB_UP_TIMEOUT", get("LAB_UP_TIMEOUT"), 1)),
        state_dir=root / get("LAB_STATE_DIR"),
        out_dir=root / get("LAB_OUT_DIR"),
        passthrough=passthrough,
    )
