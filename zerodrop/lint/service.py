"""What the lint rules see of one routed service, and of the Traefik that routes it, read from the
compose file the way compose reads it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerodrop.adapters.compose_file import number, setting
from zerodrop.adapters.compose_service import healthcheck_of, timing_of
from zerodrop.durations import parse_duration
from zerodrop.rollout.deadlines import (
    DOCKER_STOP_GRACE,
    TRAEFIK_DEFAULT_THROTTLE,
    ServiceTiming,
)

UVICORN_DEFAULT_KEEPALIVE = 5.0  # for a service that runs uvicorn and does not set its own
NEVER = ("none", "never")  # zerodrop.keepalive=none: the server never closes an idle connection

# An app that is not this lab's states its timing with labels (durations: 15s, 500ms, 2m).
LONGEST_REQUEST_LABEL = "zerodrop.longest-request"
SHUTDOWN_WORK_LABEL = "zerodrop.shutdown-work"
KEEPALIVE_LABEL = "zerodrop.keepalive"


@dataclass(frozen=True)
class Service:
    """What the rules see of one routed service, and of the Traefik that routes it."""

    name: str
    data: dict[str, Any]
    labels: dict[str, str]
    env: dict[str, str]
    args: list[str]
    proxy_idle: float
    provider_network: str | None
    compose_dir: Path
    throttle: float = TRAEFIK_DEFAULT_THROTTLE

    @property
    def timing(self) -> ServiceTiming:
        """Its healthcheck (Docker's defaults for unset fields), grace and Traefik's throttle, read
        as the rollout reads them."""
        return timing_of(healthcheck_of(self.data), self.grace, self.throttle)

    @property
    def replicas(self) -> int:
        """deploy.replicas (1 if unset)."""
        return int(number(self.data.get("deploy") or {}, "replicas") or 1)

    @property
    def grace(self) -> float:
        """stop_grace_period in seconds (Docker's 10 s if unset)."""
        return parse_duration(self.data.get("stop_grace_period"), DOCKER_STOP_GRACE)

    def _label(self, name: str) -> float | None:
        raw = self.labels.get(name)
        return None if raw is None else parse_duration(raw, 0.0)

    @property
    def longest(self) -> float | None:
        """The longest request: the app's SLOW_SECONDS, else the service's label."""
        return number(self.env, "SLOW_SECONDS") or self._label(LONGEST_REQUEST_LABEL)

    @property
    def drain(self) -> float:
        """The app's lame-duck window (DRAIN_SECONDS)."""
        return number(self.env, "DRAIN_SECONDS") or 0.0

    @property
    def work(self) -> float:
        """The app's shutdown work (SHUTDOWN_WORK_SECONDS, else the service's label)."""
        return number(self.env, "SHUTDOWN_WORK_SECONDS") or self._label(SHUTDOWN_WORK_LABEL) or 0.0

    @property
    def keepalive(self) -> float | None:
        """How long the app keeps an idle connection: uvicorn's flag or APP_KEEPALIVE_SECONDS, else
        the service's label (`none`: never closes one, infinite), else uvicorn's default for a
        service that runs uvicorn; None when nothing says."""
        found = setting(self.args, "--timeout-keep-alive", self.env, "APP_KEEPALIVE_SECONDS")
        if found is not None:
            return found
        if self.labels.get(KEEPALIVE_LABEL, "").strip().lower() in NEVER:
            return math.inf
        found = self._label(KEEPALIVE_LABEL)
        if found is None and any("uvicorn" in arg for arg in self.args):
            return UVICORN_DEFAULT_KEEPALIVE
        return found


def healthcheck_off(data: dict[str, Any]) -> bool:
    """Whether a service has no healthcheck, or has it off: as the rollout reads it."""
    return healthcheck_of(data) is None
