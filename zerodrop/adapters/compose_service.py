"""One service of a compose project as its merged configuration describes it, and what in it makes
a rolling replacement unsafe: each such thing is a refusal (exit 2, nothing changed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zerodrop.adapters.compose_file import number
from zerodrop.durations import parse_duration
from zerodrop.errors import RolloutInputError
from zerodrop.rollout.deadlines import (
    DOCKER_INTERVAL,
    DOCKER_RETRIES,
    DOCKER_STOP_GRACE,
    DOCKER_TIMEOUT,
    TRAEFIK_DEFAULT_THROTTLE,
    ServiceTiming,
)


@dataclass(frozen=True)
class ServiceSpec:
    """What a rollout needs to know of a service's configuration."""

    name: str
    project: str
    image: str
    labels: Mapping[str, str] = field(default_factory=dict)
    healthcheck: Mapping[str, Any] | None = None
    container_name: str | None = None
    published_ports: tuple[str, ...] = ()
    network_mode: str | None = None
    stop_grace: float = DOCKER_STOP_GRACE
    replicas: int | None = None
    pull_policy: str | None = None  # compose's own: always, never, missing, build, ...

    def timing(self, throttle: float = TRAEFIK_DEFAULT_THROTTLE) -> ServiceTiming:
        """Its healthcheck (Docker's defaults for unset fields), grace and Traefik's throttle."""
        return timing_of(self.healthcheck, self.stop_grace, throttle)


def timing_of(check: Mapping[str, Any] | None, stop_grace: float, throttle: float) -> ServiceTiming:
    """A service's timing from its healthcheck (None: it has none; Docker's defaults for unset
    fields), its grace and Traefik's throttle: the one reader of it, for rollout and lint."""
    fields = check or {}
    return ServiceTiming(
        interval=None if check is None else parse_duration(fields.get("interval"), DOCKER_INTERVAL),
        timeout=parse_duration(fields.get("timeout"), DOCKER_TIMEOUT),
        retries=int(number(dict(fields), "retries") or DOCKER_RETRIES),
        start_period=parse_duration(fields.get("start_period"), 0.0),
        start_interval=parse_duration(fields.get("start_interval"), 0.0) or None,
        stop_grace=stop_grace,
        throttle=throttle,
    )


def _true(value: object) -> bool:
    """A compose boolean, as compose reads one (`true`, `"true"`, `True`; `"false"` is false)."""
    return value is True or str(value).strip().lower() in {"true", "yes", "1"}


def healthcheck_of(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A service's healthcheck, None when it has none or has it off (`disable: true`, or a test of
    NONE). The one reader of it: the rollout's refusals and lint's rules both ask it."""
    check = data.get("healthcheck")
    if not isinstance(check, Mapping) or not check or _true(check.get("disable")):
        return None
    test = check.get("test") or []
    return None if (test[:1] == ["NONE"] if isinstance(test, list) else test == "NONE") else check


def published_ports_of(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The fixed host ports a service publishes, long syntax (`docker compose config`) or short
    (`8080:80`, `127.0.0.1:8080:80`); a target-only port (`8000`) takes a free host port for each
    replica, so it is not one. The one reader of them, for the rollout and lint alike."""
    found: list[str] = []
    for port in data.get("ports") or []:
        if isinstance(port, Mapping):
            if port.get("published"):
                found.append(str(port["published"]))
        elif ":" in str(port).split("/", 1)[0]:
            host = str(port).split("/", 1)[0].rsplit(":", 1)[0].rsplit(":", 1)[-1]
            if host:
                found.append(host)
    return tuple(found)


def read_service(config: Mapping[str, Any], name: str) -> ServiceSpec:
    """The service `name` from `docker compose config --format json`; RolloutInputError if the
    project has no such service."""
    services: Mapping[str, Any] = config.get("services") or {}
    if name not in services:
        raise RolloutInputError(
            f"the compose project has no service {name!r} (it has: {', '.join(sorted(services))})"
        )
    data = services[name]
    labels = data.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) for item in labels if "=" in item)
    replicas = (data.get("deploy") or {}).get("replicas")
    return ServiceSpec(
        name=name,
        project=str(config.get("name", "")),
        image=str(data.get("image", "")),
        labels={str(k): str(v) for k, v in labels.items()},
        healthcheck=healthcheck_of(data),
        container_name=data.get("container_name"),
        published_ports=published_ports_of(data),
        network_mode=data.get("network_mode"),
        stop_grace=parse_duration(data.get("stop_grace_period"), DOCKER_STOP_GRACE),
        replicas=int(replicas) if replicas is not None else None,
        pull_policy=str(data["pull_policy"]) if data.get("pull_policy") else None,
    )


def refusals(spec: ServiceSpec, throttle: float = TRAEFIK_DEFAULT_THROTTLE) -> list[str]:
    """What makes a rolling replacement of the service unsafe, one line each (none: it may roll)."""
    found: list[str] = []
    if spec.container_name:
        found.append(
            f"container_name {spec.container_name!r} allows one container only: "
            "a new replica cannot start beside it"
        )
    if spec.published_ports:
        found.append(
            f"it publishes host port(s) {', '.join(spec.published_ports)}: a second replica cannot bind them"
        )
    if spec.network_mode == "host":
        found.append("network_mode: host: two replicas cannot listen on the same host port")
    if spec.healthcheck is None:
        found.append(
            "it has no healthcheck: Traefik's docker provider drops a running container only when its "
            "health fails, so it could never be taken out of rotation before it stops"
        )
        return found
    timing = spec.timing(throttle)
    if timing.flip + timing.throttle >= spec.stop_grace:
        found.append(
            f"its healthcheck takes {timing.flip + timing.throttle:g}s to report a drain (retries x "
            f"(interval + timeout) + Traefik's throttle), not less than its stop_grace_period "
            f"{spec.stop_grace:g}s"
        )
    return found
