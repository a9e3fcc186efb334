"""The rollout's planning and failure paths, on an in-memory platform (no Docker)."""

from __future__ import annotations

import pytest

from lab.history import RolloutLocked, record_rollout, rollout_lock
from lab.model import Release
from lab.phaselog import RolloutLog
from lab.report import summary_table
from lab.rollout import RolloutEngine, RolloutFailed
from lab.rollout_plan import RolloutInputError, RolloutOptions, plan_batches, validate_options
from tests.unit.fake_platform import FakePlatform


def roller(platform: FakePlatform, **options) -> tuple[RolloutEngine, list[str]]:
    lines: list[str] = []
    opts = RolloutOptions(target=Release("v2"), poll_interval=0.001, **options)
    return RolloutEngine(platform, opts, RolloutLog(out=lines.append)), lines


def test_batches_follow_max_surge_oldest_first():
    platform = FakePlatform(count=3)
    old = list(reversed(platform.replicas()))
    assert [[r.name for r in b] for b in plan_batches(old, 1)] == [["app-1"], ["app-2"], ["app-3"]]
    assert [[r.name for r in b] for b in plan_batches(old, 2)] == [["app-1", "app-2"], ["app-3"]]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target": Release("bad tag!")}, "not a valid image tag"),
        ({"target": Release("v2"), "max_surge": 0}, "at least 1"),
        ({"target": Release("v2"), "health_timeout": 0}, "positive"),
        ({"target": Release("v2"), "health_timeout": float("nan")}, "positive"),
        ({"target": Release("v2"), "route_timeout": float("inf")}, "positive"),
        ({"target": Release("v2", {"lower": "1"})}, "variable names"),
    ],
)
def test_bad_options_are_refused_before_anything_happens(options, message):
    with pytest.raises(RolloutInputError, match=message):
        validate_options(RolloutOptions(**options))


def test_happy_path_surges_first_and_never_drops_below_n_routed():
    platform = FakePlatform(count=2)
    roll, lines = roller(platform)
    result = roll.run()
    assert [r.version for r in platform.replicas()] == ["v2", "v2"]
    assert platform.events == [
        "create app-3",
        "drain app-1",
        "stop app-1",
        "remove app-1",
        "create app-4",
        "drain app-2",
        "stop app-2",
        "remove app-2",
    ]
    assert min(platform.routed_counts) >= 2, "fewer than N replicas were routed at some point"
    assert result.fewest_routed is not None and result.fewest_routed >= 2
    assert result.replaced == [("app-1", "app-3"), ("app-2", "app-4")]
    assert result.cut == []
    table = summary_table(result)
    assert "app-1" in table and "total" in table
    assert any("drain-to-out" in line for line in lines)


def test_batches_of_two_replace_three_replicas():
    platform = FakePlatform(count=3)
    roll, _ = roller(platform, max_surge=2)
    roll.run()
    assert sorted(r.version for r in platform.replicas()) == ["v2"] * 3
    assert platform.events[:2] == ["create app-4", "create app-5"]
    assert min(platform.routed_counts) >= 3


def test_new_replica_that_crashes_is_removed_and_old_ones_keep_serving():
    platform = FakePlatform(count=2, new_behaviour={"crashed": True})
    roll, lines = roller(platform)
    with pytest.raises(RolloutFailed, match="exited before becoming healthy"):
        roll.run()
    assert [r.name for r in platform.replicas()] == ["app-1", "app-2"]
    assert all(r.version == "v1" for r in platform.replicas())
    assert "remove app-3" in platform.events and not any(e.startswith("drain") for e in platform.events)
    assert "id3" not in platform.replicas_by_id
    assert any("diagnostics" in line for line in lines)


def test_new_replica_never_healthy_times_out_and_is_removed():
    platform = FakePlatform(count=2, new_behaviour={"never_healthy": True})
    roll, _ = roller(platform, health_timeout=0.05)
    with pytest.raises(RolloutFailed, match="timed out"):
        roll.run()
    assert [r.version for r in platform.replicas()] == ["v1", "v1"]
    assert "id3" not in platform.replicas_by_id


def test_old_replica_that_stays_routed_is_put_back_and_new_one_retired():
    platform = FakePlatform(count=2)
    platform.replicas_by_id["id1"].stays_routed = True
    roll, _ = roller(platform, route_timeout=0.05)
    with pytest.raises(RolloutFailed, match="stop routing app-1"):
        roll.run()
    assert platform.events[:3] == ["create app-3", "drain app-1", "undrain app-1"]
    assert "remove app-3" in platform.events, "the new replica is taken away again"
    assert [r.name for r in platform.replicas()] == ["app-1", "app-2"]
    assert not platform.replicas_by_id["id1"].drained


def test_no_replicas_is_bad_input():
    roll, _ = roller(FakePlatform(count=0))
    with pytest.raises(RolloutInputError, match="no running replicas"):
        roll.run()


def test_a_second_rollout_of_the_same_project_is_refused(tmp_path):
    with rollout_lock(tmp_path, "p"):
        with pytest.raises(RolloutLocked, match="already running"), rollout_lock(tmp_path, "p"):
            pass
        with rollout_lock(tmp_path, "other-project"):
            pass
    with rollout_lock(tmp_path, "p"):
        pass


def test_rollback_target_is_what_ran_before_the_last_rollout(tmp_path):
    from lab.config import load_config
    from lab.deploy import PREVIOUS, resolve_target

    cfg = load_config({"LAB_STATE_DIR": str(tmp_path)}, root=tmp_path)
    with pytest.raises(RolloutInputError, match="no earlier rollout"):
        resolve_target(cfg, PREVIOUS, {})
    record_rollout(tmp_path, cfg.project, Release("v1", {"SLOW_SECONDS": "3"}), Release("v2"))
    assert resolve_target(cfg, PREVIOUS, {}) == Release("v1", {"SLOW_SECONDS": "3"})
    assert resolve_target(cfg, "v7", {"A": "1"}) == Release("v7", {"A": "1"})
