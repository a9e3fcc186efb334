"""Deadlines derived from the service's own timing (no Docker)."""

from __future__ import annotations

import pytest

from lab.deadlines import ServiceTiming, derive_deadlines


def timing(interval: float | None, **changes) -> ServiceTiming:
    base = {"timeout": 2.0, "retries": 1, "start_period": 10.0, "stop_grace": 30.0, "throttle": 0.5}
    return ServiceTiming(interval=interval, **{**base, **changes})


def test_the_lab_s_own_timing_gives_short_deadlines():
    deadlines = derive_deadlines(timing(1.0))
    assert deadlines.route == pytest.approx(2 * (1 * (1 + 2) + 0.5) + 5)  # 12 s
    assert deadlines.health == pytest.approx(2 * (10 + 1 + 2) + 5)  # 31 s
    assert deadlines.idle == 30.0
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
