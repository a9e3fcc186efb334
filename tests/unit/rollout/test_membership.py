"""compose's exclusive turn against the retirements' shared one (no Docker)."""

from __future__ import annotations

import threading

import pytest

from zerodrop.rollout.membership import Membership


def test_stops_share_and_compose_waits_for_them_then_goes_before_new_stops():
    turns = Membership(bound=5)
    order: list[str] = []
    first_stop, second_stop = turns.stopping(), turns.stopping()
    first_stop.__enter__()
    second_stop.__enter__()  # two retirements stop side by side
    composed = threading.Event()

    def compose() -> None:
        with turns.composing():
            order.append("compose")
        composed.set()

    def late_stop() -> None:
        with turns.stopping():
            order.append("late stop")

    threading.Thread(target=compose).start()
    waiter = threading.Timer(0.1, late_stop)
    waiter.start()
    assert not composed.wait(0.3), "compose must wait while stops are under way"
    first_stop.__exit__(None, None, None)
    second_stop.__exit__(None, None, None)
    assert composed.wait(2)
    waiter.join(2)
    assert order == ["compose", "late stop"], "a stop that began after compose asked waits for it"


def test_a_turn_that_never_comes_times_out():
    turns = Membership(bound=0.1)
    with turns.stopping(), pytest.raises(TimeoutError, match="no turn"), turns.composing():
        pass
