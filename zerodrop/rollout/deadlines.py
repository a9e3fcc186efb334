"""Every rollout deadline, resolved in one place (`resolve_deadlines`, the only reader of the
flags and the service's timing): each flag given, else derived from the service's own timing:
its healthcheck (interval, timeout, retries, start_period), its stop grace period, and Traefik's
provider throttle.

A fixed guess fails both ways: 30 s to leave rotation is too short for a 30 s healthcheck
interval with one retry and far too long for a 1 s one. What Docker and Traefik promise:
- a replica's health flips (ready <-> not ready) within `retries x (interval + timeout)`: the
  worst case of `retries` consecutive checks that each run to their timeout;
- Traefik applies the health event within its provider throttle;
- a new replica passes its first check after booting (budgeted by `start_period`) plus one
  `interval + timeout`, or one `start_interval + timeout` where it is set (Docker >= 25 checks
  that often during `start_period`);
- a drained replica's requests end within its stop grace period (what `docker stop` allows).
Each deadline is that worst case times MARGIN_FACTOR plus MARGIN_SECONDS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from zerodrop.durations import parse_duration
from zerodrop.errors import RolloutInputError
from zerodrop.rollout.phase_log import RolloutLog

# Docker's defaults for a healthcheck field left unset (`docker inspect` shows 0).
DOCKER_INTERVAL = 30.0
DOCKER_TIMEOUT = 30.0
DOCKER_RETRIES = 3
DOCKER_STOP_GRACE = 10.0
THROTTLE_FLAG = "--providers.providersThrottleDuration"
TRAEFIK_DEFAULT_THROTTLE = 2.0  # Traefik's default for THROTTLE_FLAG
# Used only when no service timing could be read (the unit tests' fake platform, say).
DEFAULT_HEALTH_TIMEOUT = 120.0
DEFAULT_ROUTE_TIMEOUT = 30.0
MAX_TIMEOUT = 24 * 3600.0  # no deadline, given or derived, is longer
MARGIN_FACTOR = 2.0  # twice the worst case Docker and Traefik promise ...
MARGIN_SECONDS = 5.0  # ... plus this, for a busy machine (API calls, exec, CPU contention)
SLOW_ROLLOUT_SECONDS = 120.0  # `lab lint` warns when detection alone puts a rollout past this


@dataclass(frozen=True)
class ServiceTiming:
    """The timing a service and its proxy declare, in seconds; healthcheck None when it has none."""

    interval: float | None
    timeout: float
    retries: int
    start_period: float
    stop_grace: float
    throttle: float
    start_interval: float | None = None  # Docker >= 25: the check's period during start_period

    @property
    def first_interval(self) -> float:
        """How often a booting replica is checked: start_interval where it applies (set, shorter
        than interval, and a start_period for it to run in), else interval."""
        interval = self.interval or 0.0
        if self.start_interval and self.start_period > 0:
            return min(self.start_interval, interval)
        return interval

    @property
    def flip(self) -> float:
        """Worst case for Docker to flip a replica's health: retries x (interval + timeout)."""
        if self.interval is None:
            return 0.0
        return self.retries * (self.interval + self.timeout)

    @property
    def first_pass(self) -> float:
        """Worst case for a booted replica's first passing check: start_period + interval + timeout."""
        if self.interval is None:
            return 0.0
        return self.start_period + self.first_interval + self.timeout

    def batch_seconds(self) -> float:
        """What detection typically costs one batch (checks that answer at once, not at their
        timeout): one (start) interval for the new replica's first pass, `retries` intervals for
        the old one's health to flip, and Traefik's throttle twice (add, then remove)."""
        if self.interval is None:
            return 2 * self.throttle
        return self.first_interval + self.interval * self.retries + 2 * self.throttle


class TimedService(Protocol):
    """Anything that can say a service's timing (the Docker platform; fakes in unit tests)."""

    def service_timing(self) -> ServiceTiming:
        """The service's healthcheck, stop grace and proxy throttle."""
        ...


@dataclass(frozen=True)
class Deadlines:
    """The health and route deadlines, and how each was derived, the idle one too (its deadline is
    each replica's own stop grace, which the console shows beside them)."""

    health: float
    route: float
    how: tuple[str, ...]

    def line(self) -> str:
        """'deadlines: health 51s (...), route 12s (...), idle 30s (...)'."""
        return "deadlines: " + "; ".join(self.how)


def with_margin(worst: float) -> float:
    """A deadline for a worst case: MARGIN_FACTOR x worst + MARGIN_SECONDS."""
    return MARGIN_FACTOR * worst + MARGIN_SECONDS


def derive_deadlines(timing: ServiceTiming) -> Deadlines:
    """The rollout's default deadlines for a service with this timing."""
    margin = f"x{MARGIN_FACTOR:g} + {MARGIN_SECONDS:g}s"
    route = with_margin(timing.flip + timing.throttle)
    health = with_margin(timing.first_pass)
    if timing.interval is None:
        health_how = f"health {health:.0f}s (no healthcheck: running is ready; {margin})"
        route_how = f"route {route:.0f}s (Traefik throttle {timing.throttle:g}s {margin})"
    else:
        every = "start_interval" if timing.first_interval != timing.interval else "interval"
        health_how = (
            f"health {health:.0f}s (start_period {timing.start_period:g}s + {every} "
            f"{timing.first_interval:g}s + timeout {timing.timeout:g}s, {margin})"
        )
        route_how = (
            f"route {route:.0f}s (retries {timing.retries} x (interval {timing.interval:g}s + timeout "
            f"{timing.timeout:g}s) + Traefik throttle {timing.throttle:g}s, {margin})"
        )
    idle_how = f"idle {timing.stop_grace:.0f}s (stop_grace_period)"
    return Deadlines(health, route, (health_how, route_how, idle_how))


def timing_from_inspect(config: Mapping[str, Any], proxy_args: Iterable[str]) -> ServiceTiming:
    """A replica's timing from its `docker inspect` Config (healthcheck durations in nanoseconds,
    0 for unset, which means Docker's default) and Traefik's command-line arguments."""
    check = config.get("Healthcheck") or {}
    test = check.get("Test") or []

    def seconds(key: str, default: float) -> float:
        return float(check.get(key) or 0) / 1e9 or default

    throttle = TRAEFIK_DEFAULT_THROTTLE
    for arg in proxy_args:
        if arg.startswith(f"{THROTTLE_FLAG}="):
            throttle = parse_duration(arg.split("=", 1)[1], TRAEFIK_DEFAULT_THROTTLE)
    return ServiceTiming(
        interval=None if not test or test[0] == "NONE" else seconds("Interval", DOCKER_INTERVAL),
        timeout=seconds("Timeout", DOCKER_TIMEOUT),
        retries=int(check.get("Retries") or DOCKER_RETRIES),
        start_period=seconds("StartPeriod", 0.0),
        stop_grace=float(config.get("StopTimeout") or DOCKER_STOP_GRACE),
        throttle=throttle,
        start_interval=seconds("StartInterval", 0.0) or None,  # absent before Docker 25
    )


def check_timeouts(health: float | None, route: float | None) -> None:
    """RolloutInputError unless each deadline given is a positive number of seconds up to
    MAX_TIMEOUT (a rollout's and a recover's alike)."""
    for name, value in (("--timeout", health), ("--route-timeout", route)):
        if value is None:
            continue
        if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
            raise RolloutInputError(
                f"{name} must be a positive number of seconds up to {MAX_TIMEOUT:.0f}, not {value}"
            )


@dataclass(frozen=True)
class Timeouts:
    """How long a rollout waits for a new replica to turn healthy, and for Traefik to add or drop a
    server. Resolved once, before anything changes; every part of the rollout reads these."""

    health: float
    route: float


def resolve_timeouts(health: float | None, route: float | None, derived: Deadlines | None) -> Timeouts:
    """Each deadline from its flag if given, else derived from the service's timing (clamped to
    MAX_TIMEOUT: a healthcheck of a day must not make a wait of days), else (no timing could be
    read: nothing runs) the fallback default."""

    def pick(given: float | None, derived_one: float | None, default: float) -> float:
        if given is not None:
            return given
        return min(derived_one, MAX_TIMEOUT) if derived_one is not None else default

    return Timeouts(
        health=pick(health, derived.health if derived else None, DEFAULT_HEALTH_TIMEOUT),
        route=pick(route, derived.route if derived else None, DEFAULT_ROUTE_TIMEOUT),
    )


def resolve_deadlines(
    platform: TimedService, log: RolloutLog, *, health: float | None, route: float | None, derive: bool = True
) -> Timeouts:
    """The deadlines, once: each flag given, else derived from the running service's own timing
    (`derive`; nothing to derive from when no replica runs), printing how each was found."""
    deadlines = derive_deadlines(platform.service_timing()) if derive else None
    if deadlines is not None:
        log.note(deadlines.line())
    for flag, value in (("--timeout", health), ("--route-timeout", route)):
        if value is not None:
            log.note(f"{flag} {value:g}s overrides the derived deadline")
    return resolve_timeouts(health, route, deadlines)
