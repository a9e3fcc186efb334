"""The overlapped schedule on the fake platform: the next batch starts while the old replicas of
the batch before still leave Traefik's rotation, and nothing the rollout promises changes: never
fewer ready, routed replicas than at the start; at most N + max_surge + max_draining containers;
the next batch drains while the batch before still leaves rotation; a stop undoes every batch not
handed over yet (its old replicas still in rotation)."""

from __future__ import annotations

import signal

import pytest

from tests.unit.fake_platform import FakePlatform
from tests.unit.rollout.test_engine_faults import engine, names
from zerodrop.errors import RolloutFailed, RolloutInterrupted
from zerodrop.rollout.result import Interrupt

SLOW = 40  # polls a drained replica stays in Traefik's list: the next batch starts meanwhile
NEVER = 10_000  # polls: it does not leave before the test is over


def slow_to_leave(platform: FakePlatform, polls: int = SLOW, *which: str) -> FakePlatform:
    """Old replicas (all, or those named) that Traefik keeps routing for `polls` polls once drained."""
    for fake in platform.replicas_by_id.values():
        if not which or fake.replica.name in which:
            fake.polls_to_unrouted = polls
    return platform


def still_routed(platform: FakePlatform, name: str) -> bool:
    """Whether Traefik still lists a drained replica (without spending one of its polls)."""
    fake = next((f for f in platform.replicas_by_id.values() if f.replica.name == name), None)
    if fake is None:  # already removed
        return False
    return fake.replica.status == "running" and (not fake.drained or fake.polls_to_unrouted > 1)


@pytest.mark.parametrize(
    ("count", "surge", "draining"), [(2, 1, None), (3, 1, None), (4, 2, None), (4, 1, 2)]
)
def test_an_overlapped_rollout_keeps_n_ready_and_routed_and_bounds_its_containers(count, surge, draining):
    platform = slow_to_leave(FakePlatform(count=count))
    result = engine(platform, max_surge=surge, max_draining=draining).run()
    assert sorted(r.version for r in platform.replicas()) == ["v2"] * count
    assert min(platform.ready_routed_counts) >= count, "fewer ready replicas routed than at the start"
    bound = count + surge + (draining or count)
    assert max(platform.container_counts) <= bound and result.peak_replicas <= bound
    assert result.overlap and result.cut == []


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "sequential"])
def test_the_next_batch_starts_and_drains_while_the_old_replica_before_still_leaves_rotation(overlap):
    """Overlapped, compose starts app-4, and app-2 is drained, while Traefik still routes app-1
    (drained, a lame duck); sequential, only once it has dropped it."""
    platform = slow_to_leave(FakePlatform(count=2), SLOW, "app-1")
    at_create: list[bool] = []
    at_drain: list[bool] = []
    platform.on(
        "drain app-1", lambda p: p.on("scale_up", lambda q: at_create.append(still_routed(q, "app-1")))
    )
    platform.on("drain app-2", lambda p: at_drain.append(still_routed(p, "app-1")))
    engine(platform, overlap=overlap).run()
    assert at_create == [overlap] and at_drain == [overlap]


def test_a_new_replica_that_dies_while_the_batch_before_still_drains_undoes_both_batches():
    """1. app-1 (drained) is still in Traefik's rotation 2. app-4, the next batch's new replica,
    exits as it starts 3. the rollout stops: app-4's batch is undone, and app-1's, which was never
    handed over, too: app-1 back in rotation, app-3 taken away. v1 serves as before, never fewer
    than 2 ready."""
    platform = slow_to_leave(FakePlatform(count=2), NEVER, "app-1")
    platform.on("find app-4", lambda p: p._kill("app-4"))
    with pytest.raises(RolloutFailed, match="new replica app-4"):
        engine(platform).run()
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert "undrain app-1" in platform.events and "stop app-1" not in platform.events
    assert "id3" not in platform.replicas_by_id and "id4" not in platform.replicas_by_id
    assert min(platform.ready_routed_counts) >= 2


def test_the_batch_befores_new_replica_dying_while_its_old_one_drains_puts_the_old_one_back():
    """app-3 took over from app-1, which still leaves rotation; app-3 dies as the next batch
    starts: app-1 is put back, never stopped, and the next batch is undone."""
    platform = slow_to_leave(FakePlatform(count=2), NEVER, "app-1")
    platform.on("drain app-1", lambda p: p.on("scale_up", lambda q: q._kill("app-3")))
    with pytest.raises(RolloutFailed, match="app-3"):
        engine(platform).run()
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert "undrain app-1" in platform.events and "stop app-1" not in platform.events


def test_an_interrupt_while_the_batch_before_still_leaves_rotation_undoes_both_batches():
    platform = slow_to_leave(FakePlatform(count=2), NEVER, "app-1")
    interrupt = Interrupt()
    platform.on("find app-4", lambda _: interrupt.request(signal.SIGINT))
    with pytest.raises(RolloutInterrupted):
        engine(platform, interrupt).run()
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert {f.replica.name for f in platform.replicas_by_id.values()} == {"app-1", "app-2"}


def test_an_interrupt_once_the_last_batch_is_drained_but_not_out_undoes_that_batch():
    """Every batch has started and drained; app-2 still leaves rotation when the interrupt comes:
    its batch is not handed over, so app-2 is put back and app-4 taken away; app-1's stays done."""
    platform = slow_to_leave(FakePlatform(count=2), NEVER, "app-2")
    interrupt = Interrupt()
    platform.on("drain app-2", lambda _: interrupt.request(signal.SIGINT))
    with pytest.raises(RolloutInterrupted):
        engine(platform, interrupt).run()
    assert names(platform.serving()) == ["app-2", "app-3"]
    assert "undrain app-2" in platform.events and "remove app-1" in platform.events


def test_a_new_replica_that_served_then_fails_its_check_is_stopped_with_its_grace_not_killed():
    """app-3 was routed (it served, and may hold acknowledged work); the rollout is interrupted
    while app-1 still leaves rotation, and the undo then finds app-3 failing its healthcheck (an
    engine too busy to run it). It is drained and stopped with its grace, not removed running."""
    platform = slow_to_leave(FakePlatform(count=2), NEVER, "app-1")
    interrupt = Interrupt()

    def interrupted(p: FakePlatform) -> None:
        p.by_name("app-3").flap_seen_by = "MainThread"  # the undo's next look finds it unhealthy
        interrupt.request(signal.SIGINT)

    platform.on("drain app-1", interrupted)
    with pytest.raises(RolloutInterrupted):
        engine(platform, interrupt).run()
    assert names(platform.serving()) == ["app-1", "app-2"]
    events = platform.events
    assert "stop app-3" in events and events.index("drain app-3") < events.index("stop app-3") < events.index(
        "remove app-3"
    ), events


def test_a_new_replica_that_leaves_stops_the_rollout_with_its_failed_checks_output():
    """app-3 fails one healthcheck while app-1 drains (Docker takes it out, Traefik drops it): the
    rollout stops, and its reason carries what Docker recorded for the check, so a check that timed
    out on a busy host reads differently from a service that broke."""
    platform = slow_to_leave(FakePlatform(count=2), SLOW, "app-1")
    platform.on("drain app-1", lambda p: setattr(p.by_name("app-3"), "flap_seen_by", "MainThread"))
    with pytest.raises(RolloutFailed) as caught:
        engine(platform, Interrupt()).run()
    assert "new replica app-3 is running, health unhealthy (last failed check: exit 1: not ready)" in str(
        caught.value
    )
