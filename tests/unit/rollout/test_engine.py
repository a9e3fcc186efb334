"""The rollout's planning and failure paths, on an in-memory platform (no Docker)."""

from __future__ import annotations

import pytest

from tests.unit.fake_platform import FakePlatform
from zerodrop.errors import RolloutFailed, RolloutInputError, RolloutLocked
from zerodrop.measure.report import summary_table
from zerodrop.model import Release
from zerodrop.rollout.deadlines import resolve_timeouts
from zerodrop.rollout.engine import RolloutEngine
from zerodrop.rollout.history import remember_rollout
from zerodrop.rollout.lock import rollout_lock
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import RolloutOptions, plan_batches, validate_options


def roller(platform: FakePlatform, **options) -> tuple[RolloutEngine, list[str]]:
    lines: list[str] = []
    opts = RolloutOptions(target=Release("v2"), poll_interval=0.001, **options)
    timeouts = resolve_timeouts(opts.health_timeout, opts.route_timeout, None)
    return RolloutEngine(platform, opts, timeouts, RolloutLog(out=lines.append)), lines


def assert_order(events: list[str], *expected: str) -> None:
    """The events happened, in this order (others may come between)."""
    positions = [events.index(event) for event in expected]
    assert positions == sorted(positions), events


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
    # Each old replica is drained only after its replacement exists, and stopped before removal;
    # the second batch may begin while the first old replica still retires.
    assert_order(platform.events, "create app-3", "drain app-1", "stop app-1", "remove app-1")
    assert_order(platform.events, "create app-3", "create app-4", "drain app-2", "stop app-2", "remove app-2")
    assert len(platform.events) == 8
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


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "sequential"])
def test_old_replica_that_stays_routed_is_put_back_and_new_one_retired(overlap):
    """Traefik never drops app-1: its batch is never handed over, so it is undone, whichever
    schedule ran. Overlapped, the next batch began and drained meanwhile; app-2 left rotation and
    retired, so that batch was handed over and stays replaced (a batch is undone only while its
    old replicas are still in rotation)."""
    platform = FakePlatform(count=2)
    platform.replicas_by_id["id1"].stays_routed = True
    roll, _ = roller(platform, route_timeout=0.05, overlap=overlap)
    with pytest.raises(RolloutFailed, match="stop routing app-1"):
        roll.run()
    if overlap:
        assert_order(
            platform.events, "create app-3", "drain app-1", "create app-4", "drain app-2", "undrain app-1"
        )
        assert [r.name for r in platform.replicas()] == ["app-1", "app-4"]
    else:
        assert platform.events[:3] == ["create app-3", "drain app-1", "undrain app-1"]
        assert [r.name for r in platform.replicas()] == ["app-1", "app-2"]
    assert "remove app-3" in platform.events, "the new replica is taken away again"
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
    from zerodrop.rollout.execute import PREVIOUS, resolve_target

    cfg = load_config({"LAB_STATE_DIR": str(tmp_path)}, root=tmp_path)
    with pytest.raises(RolloutInputError, match="no earlier rollout"):
        resolve_target(cfg, PREVIOUS, {})
    remember_rollout(tmp_path, cfg.project, Release("v1", {"SLOW_SECONDS": "3"}), Release("v2"))
    assert resolve_target(cfg, PREVIOUS, {}) == Release("v1", {"SLOW_SECONDS": "3"})
    assert resolve_target(cfg, "v7", {"A": "1"}) == Release("v7", {"A": "1"})


def busy_platform(count: int, inflight: int = 40) -> FakePlatform:
    """Old replicas with long requests in flight: each needs `inflight` polls to go idle."""
    platform = FakePlatform(count=count)
    for fake in platform.replicas_by_id.values():
        fake.inflight = inflight
    return platform


def test_the_next_batch_starts_while_the_old_replica_finishes_its_requests():
    platform = busy_platform(count=3)
    roll, _ = roller(platform)
    result = roll.run()
    assert sorted(r.version for r in platform.replicas()) == ["v2"] * 3
    assert_order(platform.events, "drain app-1", "create app-5", "drain app-2", "create app-6", "stop app-1")
    assert min(platform.routed_counts) >= 3
    assert result.peak_replicas == 6, "3 serving + 1 new + 2 retiring at the third create"
    assert result.batches == [(["app-1"], ["app-4"]), (["app-2"], ["app-5"]), (["app-3"], ["app-6"])]


def test_max_draining_caps_the_old_replicas_retiring_at_once():
    platform = busy_platform(count=3)
    roll, lines = roller(platform, max_draining=1)
    result = roll.run()
    assert_order(platform.events, "remove app-1", "create app-5")
    assert_order(platform.events, "remove app-2", "create app-6")
    assert result.peak_replicas == 4, "a cap of 1: the next old replica drains only once the last one is gone"
    assert any("wait-for-room" in line for line in lines)


def test_max_draining_below_max_surge_is_refused():
    with pytest.raises(RolloutInputError, match="--max-draining"):
        validate_options(RolloutOptions(Release("v2"), max_surge=2, max_draining=1))


def test_a_new_replica_lost_while_its_old_one_retires_brings_the_old_one_back():
    """1. app-1 has left rotation and finishes long requests; batch 2 starts (app-5) 2. app-4, the
    replica that took over from app-1, is killed 3. the rollout stops: batch 2 undone, app-1 put
    back in rotation, never stopped."""
    platform = busy_platform(count=2, inflight=10_000)
    platform.on("find app-4", lambda p: p.kill("app-3"))
    roll, _ = roller(platform)
    with pytest.raises(RolloutFailed, match="new replica app-3"):
        roll.run()
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert "stop app-1" not in platform.events and "undrain app-1" in platform.events


def names(replicas) -> list[str]:
    return sorted(r.name for r in replicas)


def test_an_old_replica_that_dies_while_the_next_batch_is_created_counts_as_compose_counts_it():
    """compose counts stopped containers too: 1. app-1 has left rotation and finishes its requests
    2. it is SIGKILLed just as the next batch's compose runs 3. exactly one new replica is created
    (the count included app-1 either way), app-1 is reported as cut (exit 137) and removed."""
    platform = busy_platform(count=2, inflight=200)
    platform.on("drain app-1", lambda p: p.on("scale_up", lambda q: q.kill("app-1")))
    roll, _ = roller(platform)
    result = roll.run()
    assert [e for e in platform.events if e.startswith("create")] == ["create app-3", "create app-4"]
    assert [c.exit_code for c in result.cut] == [137] and result.cut[0].replica == "app-1"
    assert sorted(r.name for r in platform.replicas(include_stopped=True)) == ["app-3", "app-4"]


def test_a_service_that_cannot_say_its_inflight_work_is_stopped_once_out_with_its_grace():
    """No in-flight endpoint (a file: or sigterm contract alone): once Traefik has dropped an old
    replica it is stopped with its own grace period at once; exit 0 is no cut, exit 137 is."""
    platform = FakePlatform(says_inflight=False, says_version=False)
    platform.by_name("app-2").exit_code = 137  # its shutdown outlasted the grace
    roll, lines = roller(platform)
    result = roll.run()
    assert {r.version for r in platform.serving()} == {"v2"}
    assert [(c.replica, c.inflight, c.exit_code) for c in result.cut] == [("app-2", 0, 137)]
    said = result.cut[0].line()
    assert "killed at the grace deadline (30s, " in said and "s after Traefik dropped it" in said, said
    assert "idleConnTimeout below the stop grace period" in said, "the likely cause, with its fix"
    assert any("does not say what is in flight" in line for line in lines), lines
    assert any("200 from the service (it does not say its version)" in line for line in lines), lines


def test_streams_are_ended_once_traefik_has_dropped_the_replica_and_before_it_stops():
    """The lab's app holds streams: each old replica is told to end them after drain-to-out (the
    fake fails if Traefik still routes it), the phase log counts them, and the stop comes after."""
    platform = FakePlatform(has_streams=True)
    platform.by_name("app-1").streams = 3
    roll, lines = roller(platform)
    result = roll.run()
    assert result.cut == []
    assert_order(platform.events, "end_streams app-1", "stop app-1")
    assert_order(platform.events, "end_streams app-2", "stop app-2")
    closed = [line for line in lines if "streams-closed" in line]
    assert len(closed) == 2 and "3 stream(s) ended by the replica, 0 still open" in closed[0]


def test_a_stream_still_open_when_its_replica_stops_is_cut_work():
    """A stream the replica did not end on the signal stays in flight; at the grace deadline the
    stop cuts it, and only that is cut work (a stream the replica ended is a clean handover)."""
    platform = FakePlatform(has_streams=True, stop_timeout=0.5)  # the wait for idle ends at the grace
    platform.by_name("app-1").streams = 2
    platform.by_name("app-2").streams = 2
    platform.by_name("app-2").held_open = 1
    roll, lines = roller(platform)
    result = roll.run()
    assert [(c.replica, c.inflight) for c in result.cut] == [("app-2", 1)]
    assert "1 request(s) or stream(s) in flight at the grace deadline" in result.cut[0].line()
    assert any("1 stream(s) ended by the replica, 1 still open" in line for line in lines), lines
    assert {r.version for r in platform.serving()} == {"v2"}


def test_a_service_without_streams_has_no_streams_phase():
    roll, lines = roller(FakePlatform())
    roll.run()
    assert not any("streams-closed" in line for line in lines)
