"""Retirements in the background: a reclaim does not wait out the app's idle hold, and a wait on
the retirements wakes as soon as one ends."""

from __future__ import annotations

import threading
import time

from tests.unit.fake_platform import FakePlatform
from zerodrop.rollout.membership import Membership
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.replica_waits import IDLE_LONG_POLL
from zerodrop.rollout.retirement_pool import Retirements
from zerodrop.waits import wait_for


class HoldingPlatform(FakePlatform):
    """The app holds /stats?idle_within=S for the whole S while a request stays in flight, as the
    real one does (outside the platform lock, like a real in-container request)."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    def inflight(self, replica_id: str, wait: float = 0.0) -> int:
        count = super().inflight(replica_id, wait)
        if count and wait:
            self.released.wait(wait)
        return 0 if self.released.is_set() else count


def drained_out_of_rotation(platform: FakePlatform, name: str):
    """The replica as a retirement receives it: drained, and Traefik no longer lists it."""
    fake = platform.by_name(name)
    fake.drained, fake.polls_to_unrouted = True, 0
    return fake.replica


def retirements(platform: FakePlatform) -> Retirements:
    return Retirements(
        platform, RolloutLog(out=lambda _: None), poll=0.01, call_timeout=1.0, membership=Membership()
    )


def test_a_reclaim_returns_at_once_and_the_replica_is_never_stopped():
    platform = HoldingPlatform()
    platform.by_name("app-1").never_idle = True
    old = drained_out_of_rotation(platform, "app-1")
    retiring = retirements(platform)
    retiring.start(old, time.time(), successors=[])
    wait_for(lambda: "inflight app-1" in platform.calls, what="the idle hold", timeout=5, interval=0.01)

    started = time.monotonic()
    back = retiring.reclaim([old])
    took = time.monotonic() - started

    assert [r.name for r in back] == ["app-1"]
    assert took < IDLE_LONG_POLL / 4, f"reclaim waited {took:.2f}s for a hold of {IDLE_LONG_POLL}s"
    retiring.finish()
    assert "stop app-1" not in platform.events and retiring.errors == []


def test_the_end_of_a_retirement_wakes_a_wait_on_them():
    platform = HoldingPlatform()
    platform.by_name("app-1").inflight = 5
    old = drained_out_of_rotation(platform, "app-1")
    retiring = retirements(platform)
    retiring.start(old, time.time(), successors=[])
    wait_for(lambda: "inflight app-1" in platform.calls, what="the idle hold", timeout=5, interval=0.01)
    platform.on("stop app-1", lambda _: time.sleep(0.2))  # still retiring at the wait's first check
    platform.released.set()  # the last request ends: the app answers, the replica stops
    started = time.monotonic()
    wait_for(lambda: retiring.active() == 0, what="retired", timeout=5, interval=3.0, wake=retiring.ended)
    assert time.monotonic() - started < 1.0
    assert retiring.errors == [] and platform.events == ["stop app-1", "remove app-1"]
