"""The rule that depends on the Docker engine the service will run on. Engine 25 and newer (API
1.44) check a starting replica every `start_interval` during its `start_period`; older engines
have no such setting, and compose refuses the key there, so it is recommended only where the
engine supports it."""

from __future__ import annotations

import docker
from docker.errors import DockerException

from zerodrop.adapters.docker_context import docker_endpoint
from zerodrop.lint.rules import Rule, rule, when
from zerodrop.lint.service import Service

START_INTERVAL_API = (1, 44)  # Docker Engine 25.0
SLOW_FIRST_CHECK_SECONDS = 5.0  # an interval from here up makes a ready replica wait noticeably
ENGINE_ANSWER_SECONDS = 3.0  # lint asks the engine once, briefly: it must work without one

START_INTERVAL_RULES: list[Rule] = []


@rule("start-interval", "07-preflight-lint", warning=True, into=START_INTERVAL_RULES)
def slow_first_check(s: Service) -> str | None:
    """A long interval without start_interval: a ready replica waits for its first check."""
    timing = s.timing
    if timing.interval is None or timing.start_interval:
        return None
    period = "" if timing.start_period > 0 else " and a start_period for it to apply in"
    return when(
        timing.interval >= SLOW_FIRST_CHECK_SECONDS,
        f"healthcheck interval {timing.interval:g}s and no start_interval: a new replica waits up to "
        f"{timing.interval:g}s after it is ready before Docker (and so Traefik and the rollout) see it; "
        f"this engine supports `start_interval: 1s`{period} (Docker 25+; a draining replica still "
        "leaves at the interval)",
    )


def supports_start_interval(api_version: str | None) -> bool:
    """Whether an engine of this API version ("1.45") honours start_interval."""
    if not api_version:
        return False
    try:
        major, minor = (int(part) for part in api_version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= START_INTERVAL_API


def engine_api_version() -> str | None:
    """The API version of the engine the docker CLI would use, or None if none answers quickly."""
    host, _ = docker_endpoint()
    try:
        client = docker.DockerClient(base_url=host, version="auto", timeout=ENGINE_ANSWER_SECONDS)
        return str(client.version().get("ApiVersion") or "") or None
    except DockerException:
        return None


def engine_rules() -> list[Rule]:
    """The engine-dependent rules that apply to the engine here (none if it is older or absent)."""
    return START_INTERVAL_RULES if supports_start_interval(engine_api_version()) else []
