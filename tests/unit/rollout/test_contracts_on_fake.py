"""Each drain contract as the engine meets it, on the fake platform: signal and file contracts can
put a drained replica back; the sigterm contract cannot, so an undo retires it and a new replica
stands in; and recover never tries to undrain under it."""

from __future__ import annotations

import signal

import pytest

from tests.unit.fake_platform import FakePlatform
from tests.unit.rollout.test_engine_faults import engine, killed_mid_rollout, names
from zerodrop.errors import RolloutInterrupted
from zerodrop.model import Release
from zerodrop.rollout.deadlines import resolve_timeouts
from zerodrop.rollout.engine import RolloutEngine
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.rollout.recover import recover
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.result import Interrupt


def interrupted_while_app_1_drains(platform: FakePlatform) -> list[str]:
    """Interrupt the rollout as app-1 (old) is drained; the lines its log said."""
    interrupt = Interrupt()
    platform.on("drain app-1", lambda _: interrupt.request(signal.SIGINT))
    lines: list[str] = []
    opts = RolloutOptions(target=Release("v2"), poll_interval=0.001)
    timeouts = resolve_timeouts(None, None, None)
    with pytest.raises(RolloutInterrupted):
        RolloutEngine(platform, opts, timeouts, RolloutLog(out=lines.append), interrupt).run()
    return lines


def test_a_reclaimable_contract_puts_the_drained_replica_back_and_takes_the_new_one_away():
    """signal: and file: both undrain: the old replica serves again, the new one goes."""
    platform = FakePlatform(reclaimable=True)
    interrupted_while_app_1_drains(platform)
    assert "undrain app-1" in platform.events
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert "id3" not in platform.replicas_by_id


def test_under_sigterm_an_undo_retires_the_drained_replica_and_keeps_the_new_one():
    """A SIGTERM cannot be taken back: no undrain is ever sent (the fake fails on one), app-1
    finishes its work and is stopped, and app-3 stands in, so as many replicas serve as before."""
    platform = FakePlatform(reclaimable=False)
    lines = interrupted_while_app_1_drains(platform)
    assert not any(call.startswith("undrain") for call in platform.calls)
    assert names(platform.serving()) == ["app-2", "app-3"]
    assert "stop app-1" in platform.events and "id1" not in platform.replicas_by_id
    assert any("app-1 cannot be put back" in line for line in lines), lines


def test_under_sigterm_a_whole_rollout_never_undrains():
    platform = FakePlatform(reclaimable=False)
    engine(platform).run()
    assert {r.version for r in platform.serving()} == {"v2"}
    assert not any(call.startswith("undrain") for call in platform.calls)


@pytest.mark.parametrize("reclaimable", [True, False])
def test_recover_keeps_a_drained_replica_only_where_the_contract_can_put_it_back(reclaimable):
    """Three wanted, app-1 left drained by a killed rollout: a reclaimable contract undrains it;
    under sigterm it retires and a new replica of the deployed release takes its place first."""
    platform = killed_mid_rollout()
    platform.reclaimable = reclaimable
    recover(
        platform,
        ReplicaWaits(platform, poll=0.001),
        RolloutLog(out=lambda _: None),
        3,
        Release("v1"),
        health_timeout=1,
        route_timeout=1,
    )
    assert len(platform.serving()) == 3
    assert ("app-1" in names(platform.serving())) is reclaimable
    if not reclaimable:
        created = platform.events.index("create app-5")
        assert created < platform.events.index("stop app-1"), "capacity is added before any is taken"
