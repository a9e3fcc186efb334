"""The proxy hand-over on a fake platform: the order of its steps, and every way it can fail. Until
the old Traefik is told to stop, a failure removes the new one (stopped with its grace) and the
old one serves; after that, the hand-over finishes and says what it cut."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from zerodrop.errors import (
    EXIT_CUT,
    EXIT_FAILED,
    EXIT_OK,
    HandoverStopped,
    PlatformUnavailable,
    RolloutInputError,
)
from zerodrop.proxy.handover import CLOSED_AFTER, HandoverOptions, hand_over
from zerodrop.proxy.platform import Instance
from zerodrop.proxy.routing import Answer, Routing
from zerodrop.rollout.result import Interrupt

ROUTES = Routing({"app@docker": ("Host(`app`)", "enabled")}, {"app@docker": frozenset({"http://a:8000"})})
OLD, NEW = Instance("o", "traefik-1"), Instance("n", "traefik-2")
FAST = HandoverOptions(routes_timeout=1.0, close_timeout=1.0, exit_timeout=1.0, poll=0.01)


@dataclass
class FakeProxy:
    """Two Traefiks on one port: the kernel's choice of listener is the fake's turn-taking."""

    new_routes: Routing = ROUTES
    new_exits: bool = False  # the new Traefik exits as it starts
    old_holds: bool = False  # the old Traefik never exits by itself
    old_closes: bool = True  # SIGTERM closes its listeners
    calls: list[str] = field(default_factory=list)
    old: Instance = OLD
    new: Instance = NEW
    up: set[str] = field(default_factory=lambda: {"o"})
    listening: set[str] = field(default_factory=lambda: {"o"})
    turn: int = 0

    def instances(self) -> list[Instance]:
        return [i for i in (self.old, self.new) if i.id in self.up]

    def start_second(self) -> Instance:
        self.calls.append("start")
        if not self.new_exits:
            self.up.add("n")
            self.listening.add("n")
        return self.new

    def running(self, instance: Instance) -> bool:
        return instance.id in self.up

    def ask(self) -> Answer:
        choices = sorted(self.listening)
        if not choices:
            raise PlatformUnavailable("nobody listens")
        self.turn += 1
        chosen = choices[self.turn % len(choices)]
        return Answer("t-old" if chosen == "o" else "t-new", ROUTES if chosen == "o" else self.new_routes)

    def terminate(self, instance: Instance) -> None:
        self.calls.append(f"SIGTERM {instance.name}")
        if self.old_closes:
            self.listening.discard(instance.id)

    def end_streams(self) -> int:
        self.calls.append("streams")
        if not self.old_holds:
            self.up.discard("o")
        return 2

    def stop(self, instance: Instance, grace: float) -> None:
        self.calls.append(f"stop {instance.name} {grace:g}")
        self.up.discard(instance.id)
        self.listening.discard(instance.id)

    def remove(self, instance: Instance) -> None:
        self.calls.append(f"remove {instance.name}")


def test_the_new_traefik_is_confirmed_then_the_old_one_retires_with_its_streams_handed_over():
    fake = FakeProxy()
    result = hand_over(fake, FAST, lambda _: None)
    assert fake.calls == ["start", "SIGTERM traefik-1", "streams", "remove traefik-1"]
    assert result.exit_code == EXIT_OK and result.exited_by_itself
    assert (result.old, result.new, result.streams_signals, result.replicas_signalled) == (
        "traefik-1",
        "traefik-2",
        1,
        2,
    )
    assert list(result.phases) == [
        "old routes read",
        "new routes loaded",
        "old listeners closed",
        "streams handed over",
    ]


def test_a_new_traefik_that_lacks_a_route_is_removed_with_its_grace_and_the_old_one_serves():
    fake = FakeProxy(new_routes=Routing({}, ROUTES.services))
    with pytest.raises(HandoverStopped) as stopped:
        hand_over(fake, FAST, lambda _: None)
    assert fake.calls == ["start", f"stop traefik-2 {FAST.exit_timeout:g}", "remove traefik-2"]
    assert "lacks router app@docker" in str(stopped.value) and stopped.value.exit_code == EXIT_FAILED
    assert fake.up == {"o"}, "the old Traefik was never touched"


def test_a_new_traefik_that_exits_is_reported_at_once_and_the_old_one_serves():
    fake = FakeProxy(new_exits=True)
    with pytest.raises(HandoverStopped, match="traefik-2 exited"):
        hand_over(fake, HandoverOptions(routes_timeout=30, poll=0.01), lambda _: None)
    assert "SIGTERM traefik-1" not in fake.calls and fake.up == {"o"}


def test_an_interrupt_before_the_old_one_is_told_undoes_and_exits_128_plus_the_signal():
    interrupt = Interrupt()
    interrupt.request(2)
    fake = FakeProxy()
    with pytest.raises(HandoverStopped) as stopped:
        hand_over(fake, FAST, lambda _: None, interrupt)
    assert stopped.value.exit_code == 130 and fake.up == {"o"}


def test_an_old_traefik_that_still_holds_connections_at_its_deadline_is_killed_and_the_exit_says_cut():
    fake = FakeProxy(old_holds=True)
    result = hand_over(fake, FAST, lambda _: None)
    assert result.exit_code == EXIT_CUT and not result.exited_by_itself
    assert "stop traefik-1 0" in fake.calls and fake.calls[-1] == "remove traefik-1"
    assert result.streams_signals >= 1


def test_an_old_traefik_that_keeps_listening_after_sigterm_is_not_taken_for_closed():
    """The old one answers now and then: CLOSED_AFTER answers in a row from the new one never come."""
    fake = FakeProxy(old_closes=False)
    result = hand_over(fake, FAST, lambda _: None)
    assert result.exit_code == EXIT_CUT and "kept listening" in result.reason
    assert "streams" not in fake.calls, "no stream is sent away while the old Traefik still accepts"
    assert fake.calls[-2:] == [f"stop traefik-1 {FAST.exit_timeout:g}", "remove traefik-1"]
    assert CLOSED_AFTER > 1


def test_the_service_must_run_exactly_one_traefik():
    fake = FakeProxy()
    fake.up = set()
    with pytest.raises(RolloutInputError, match="exactly one"):
        hand_over(fake, FAST, lambda _: None)
    assert fake.calls == []
