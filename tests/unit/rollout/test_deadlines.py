"""Deadlines derived from the service's own timing (no Docker)."""

from __future__ import annotations

import pytest

from zerodrop.rollout.deadlines import ServiceTiming, derive_deadlines, timing_from_inspect


def timing(interval: float | None, **changes) -> ServiceTiming:
    base = {"timeout": 2.0, "retries": 1, "start_period": 10.0, "stop_grace": 30.0, "throttle": 0.5}
    return ServiceTiming(interval=interval, **{**base, **changes})


def test_the_lab_s_own_timing_gives_short_deadlines():
    deadlines = derive_deadlines(timing(1.0))
    assert deadlines.route == pytest.approx(2 * (1 * (1 + 2) + 0.5) + 5)  # 12 s
    assert deadlines.health == pytest.approx(2 * (10 + 1 + 2) + 5)  # 31 s
    assert "idle 30s (stop_grace_period)" in deadlines.line()
    line = deadlines.line()
    assert "route 12s" in line and "health 31s" in line and "idle 30s" in line
    assert "retries 1 x (interval 1s + timeout 2s) + Traefik throttle 0.5s" in line


def test_docker_s_default_interval_stretches_the_route_deadline_past_a_fixed_30s():
    """The case a fixed 30 s got wrong: 30 s interval, 2 retries -> a healthy drain needs ~64 s."""
    deadlines = derive_deadlines(timing(30.0, retries=2))
    assert deadlines.route == pytest.approx(2 * (2 * (30 + 2) + 0.5) + 5)
    assert deadlines.route > 2 * 30


def test_no_healthcheck_leaves_only_traefik_s_throttle():
    deadlines = derive_deadlines(timing(None, throttle=2.0))
    assert deadlines.route == pytest.approx(2 * 2.0 + 5)
    assert "no healthcheck" in deadlines.line()


def test_timing_is_read_from_docker_inspect_as_docker_stores_it():
    """Durations in nanoseconds, 0 (unset) meaning Docker's default; Traefik's throttle from its
    command line; the lab's compose file's values come out as it declares them."""
    config = {
        "Healthcheck": {"Test": ["CMD", "python", "/app/healthcheck.py"], "Interval": 1_000_000_000,
                        "Timeout": 2_000_000_000, "Retries": 1, "StartPeriod": 10_000_000_000},
        "StopTimeout": 30,
    }  # fmt: skip
    args = ["--providers.docker=true", "--providers.providersThrottleDuration=500ms"]
    assert timing_from_inspect(config, args) == ServiceTiming(1.0, 2.0, 1, 10.0, 30.0, 0.5)
    unset = timing_from_inspect({"Healthcheck": {"Test": ["CMD", "true"]}}, [])
    assert unset == ServiceTiming(30.0, 30.0, 3, 0.0, 10.0, 2.0), "Docker's and Traefik's defaults"
    assert timing_from_inspect({"Healthcheck": {"Test": ["NONE"]}}, []).interval is None
    assert timing_from_inspect({}, []).interval is None


class TimedFake:
    def __init__(self, timing: ServiceTiming) -> None:
        self.timing = timing

    def service_timing(self) -> ServiceTiming:
        return self.timing


def test_the_rollout_prints_its_derived_deadlines_and_a_flag_overrides_one():
    from zerodrop.rollout.deadlines import resolve_deadlines
    from zerodrop.rollout.phase_log import RolloutLog

    lines: list[str] = []
    resolved = resolve_deadlines(
        TimedFake(timing(30.0)), RolloutLog(out=lines.append), health=8.0, route=None
    )
    assert resolved.health == 8.0, "--timeout wins"
    assert resolved.route == pytest.approx(2 * (30 + 2 + 0.5) + 5)
    assert lines[0].startswith("rollout: deadlines: health ") and "route 70s" in lines[0]
    assert lines[1] == "rollout: --timeout 8s overrides the derived deadline"


def test_deadlines_are_resolved_once_from_the_flag_the_timing_or_the_fallback():
    from zerodrop.rollout.deadlines import (
        DEFAULT_HEALTH_TIMEOUT,
        DEFAULT_ROUTE_TIMEOUT,
        Timeouts,
        resolve_timeouts,
    )

    derived = derive_deadlines(timing(30.0))
    assert resolve_timeouts(8.0, None, derived) == Timeouts(8.0, derived.route)
    assert resolve_timeouts(None, None, None) == Timeouts(DEFAULT_HEALTH_TIMEOUT, DEFAULT_ROUTE_TIMEOUT)


def test_recover_prints_its_own_prefix():
    from zerodrop.rollout.phase_log import RolloutLog

    lines: list[str] = []
    RolloutLog(out=lines.append, prefix="recover").note("found: stale rollout lock")
    assert lines == ["recover: found: stale rollout lock"]


def test_start_interval_shortens_the_health_deadline_only_where_docker_uses_it():
    """Docker >= 25 checks every start_interval during start_period: with interval 30 s and
    start_interval 1 s the health deadline is start_period + 1 s + timeout, not + 30 s. Without
    a start_period (or with a start_interval above interval) Docker never uses it."""
    slow = derive_deadlines(timing(30.0))
    fast = derive_deadlines(timing(30.0, start_interval=1.0))
    assert slow.health == pytest.approx(2 * (10 + 30 + 2) + 5)
    assert fast.health == pytest.approx(2 * (10 + 1 + 2) + 5)
    assert "start_interval 1s" in fast.line() and "interval 30s" in slow.line()
    assert fast.route == slow.route, "the drain still waits for the interval"
    assert derive_deadlines(timing(30.0, start_interval=1.0, start_period=0.0)).health == slow.health - 20
    assert timing(1.0, start_interval=5.0).first_interval == 1.0
    assert timing(30.0, start_interval=1.0).batch_seconds() == pytest.approx(1 + 30 + 1.0)


def test_start_interval_is_read_from_inspect_where_the_engine_has_it():
    check = {"Test": ["CMD", "true"], "Interval": 30_000_000_000, "StartPeriod": 10_000_000_000}
    config = {"Healthcheck": {**check, "StartInterval": 1_000_000_000}}
    assert timing_from_inspect(config, []).start_interval == 1.0
    del config["Healthcheck"]["StartInterval"]  # Docker 20.10 has no such field
    assert timing_from_inspect(config, []).start_interval is None
