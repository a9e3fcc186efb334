"""Replacing the Traefik in front of everything without a gap: a second Traefik started beside the
first on the same ports (reusePort, in one network namespace), confirmed in its own API to route
everything the first routes, then the first told to stop (SIGTERM: it closes its listeners at
once and finishes what it holds), its streams handed over the standard way (the services' streams
signal, sent once only the new Traefik listens, so every reconnect reaches it), and removed once
it has exited by itself. Until the first is told to stop, any failure removes the second (with its
grace: it may already have accepted connections) and leaves the first serving.

Pure: it drives a ProxyPlatform (Docker and Traefik's API on the real engine; a fake in tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from zerodrop.errors import (
    EXIT_CUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SIGNAL_BASE,
    HandoverStopped,
    PlatformUnavailable,
    RolloutInputError,
    WaitTimeout,
    ZerodropError,
)
from zerodrop.proxy.platform import Instance, ProxyPlatform
from zerodrop.proxy.routing import Answer
from zerodrop.rollout.result import Interrupt
from zerodrop.waits import wait_for

CLOSED_AFTER = 16  # answers in a row from the new Traefik alone: the old one's listeners are closed
STREAMS_EVERY = 2.0  # seconds between two streams signals while the old Traefik still holds connections


@dataclass(frozen=True)
class HandoverOptions:
    """Deadlines, in seconds: for the new Traefik to route as the old one does, for the old one to
    close its listeners (its requestAcceptGraceTimeout and a margin), and for it to exit once its
    streams are handed over (its graceTimeOut and a margin). `poll`: between two looks."""

    routes_timeout: float = 60.0
    close_timeout: float = 15.0
    exit_timeout: float = 40.0
    poll: float = 0.1


@dataclass
class HandoverResult:
    """What a proxy rollout did: old and new container, each phase's seconds, the streams signals
    sent (and to how many replicas), whether the old Traefik exited by itself, the exit status."""

    old: str = ""
    new: str = ""
    phases: dict[str, float] = field(default_factory=dict)
    streams_signals: int = 0
    replicas_signalled: int = 0
    exited_by_itself: bool = False
    exit_code: int = EXIT_OK
    reason: str = ""


class _Clock:
    """Phase timings: each phase's seconds, said as it ends."""

    def __init__(self, result: HandoverResult, say: Callable[[str], None]) -> None:
        self.result, self.say, self.last = result, say, time.monotonic()

    def lap(self, phase: str, detail: str) -> None:
        now = time.monotonic()
        self.result.phases[phase] = round(now - self.last, 2)
        self.say(f"{phase}: {detail} ({now - self.last:.1f}s)")
        self.last = now


def _one_old(platform: ProxyPlatform) -> Instance:
    """The one running Traefik of the service; RolloutInputError otherwise (nothing changed)."""
    found = platform.instances()
    if len(found) != 1:
        names = ", ".join(i.name for i in found) or "none"
        raise RolloutInputError(
            f"the Traefik service must run exactly one container to be replaced (runs: {names})"
        )
    return found[0]


def hand_over(
    platform: ProxyPlatform,
    options: HandoverOptions,
    say: Callable[[str], None],
    interrupt: Interrupt | None = None,
) -> HandoverResult:
    """Replace the service's one Traefik with a new one from the compose files, dropping nothing;
    the result (exit status EXIT_CUT if the old Traefik had to be killed). HandoverStopped (the old
    one serving, the new one removed) if the new one is not confirmed."""
    interrupt = interrupt or Interrupt()
    old = _one_old(platform)
    result = HandoverResult(old=old.name)
    clock = _Clock(result, say)
    before = wait_for(platform.ask, what="Traefik's API to answer", timeout=options.close_timeout,
                      interval=options.poll, transient=(PlatformUnavailable,))  # fmt: skip
    clock.lap("old routes read", f"{old.name} (started {before.started}) routes {before.routing.line()}")
    new = platform.start_second()
    result.new = new.name
    try:
        _confirm(platform, options, new, before, interrupt)
    except (ZerodropError, WaitTimeout) as error:
        code = EXIT_SIGNAL_BASE + interrupt.signum if interrupt.signum is not None else EXIT_FAILED
        say(f"undo: {new.name} is stopped with its grace and removed; {old.name} serves as before")
        platform.stop(new, options.exit_timeout)
        platform.remove(new)
        result.exit_code, result.reason = code, str(error)
        raise HandoverStopped(f"the new Traefik was not confirmed: {error}", result, code) from None
    clock.lap("new routes loaded", f"{new.name} routes everything {old.name} routes")
    _retire(platform, options, old, before.started, clock)
    if interrupt.signum is not None and result.exit_code == EXIT_OK:
        result.exit_code = EXIT_SIGNAL_BASE + interrupt.signum  # too late to undo: finished instead
    return result


def _retire(
    platform: ProxyPlatform, options: HandoverOptions, old: Instance, started: str, clock: _Clock
) -> None:
    """SIGTERM the old Traefik; once only the new one listens, hand its streams over until it exits
    by itself (else kill it: EXIT_CUT); remove it."""
    result = clock.result
    platform.terminate(old)
    try:
        _closed(platform, options, started)
    except WaitTimeout as error:  # it still accepts: sending its streams away would bring them back to it
        platform.stop(old, options.exit_timeout)
        platform.remove(old)
        result.exit_code, result.reason = EXIT_CUT, f"{old.name} kept listening after SIGTERM ({error})"
        clock.lap("old stopped", f"{result.reason}: stopped by the engine, its streams not handed over")
        return
    clock.lap(
        "old listeners closed", f"{old.name} got SIGTERM; {CLOSED_AFTER} answers in a row from the new one"
    )
    result.exited_by_itself = _hand_streams_over(platform, options, old, result)
    detail = f"{result.streams_signals} streams signal(s) to {result.replicas_signalled} replica(s)"
    if result.exited_by_itself:
        clock.lap("streams handed over", f"{detail}; {old.name} exited by itself")
    else:
        platform.stop(old, 0)
        result.exit_code = EXIT_CUT
        result.reason = f"{old.name} still held connections after {options.exit_timeout:g}s"
        clock.lap("old killed", f"{detail}; {result.reason}: killed, what it held was cut")
    platform.remove(old)


def _confirm(
    platform: ProxyPlatform, options: HandoverOptions, new: Instance, before: Answer, interrupt: Interrupt
) -> None:
    """Wait until the new Traefik answers with everything the old one routes (the old one's latest
    answer), while it runs."""
    latest = [before.routing]
    seen = ["no answer from the new Traefik yet"]

    def check() -> bool:
        if interrupt.signum is not None:
            raise ZerodropError(f"interrupted by signal {interrupt.signum}")
        if not platform.running(new):
            raise ZerodropError(f"{new.name} exited")
        answer = platform.ask()
        if answer.started == before.started:
            latest[0] = answer.routing
            return False
        lacks = latest[0].missing_in(answer.routing)
        seen[0] = "it lacks " + "; ".join(lacks)[:300] if lacks else "it routes everything"
        return not lacks

    wait_for(check, what=f"{new.name} to route what the old Traefik routes", timeout=options.routes_timeout,
             interval=options.poll, last_seen=lambda: seen[0], transient=(PlatformUnavailable,))  # fmt: skip


def _closed(platform: ProxyPlatform, options: HandoverOptions, old_started: str) -> None:
    """Wait until CLOSED_AFTER answers in a row come from the new Traefik: the kernel hands a new
    connection to any listener of the group, so the old one no longer listens."""
    run = [0]

    def check() -> bool:
        run[0] = 0 if platform.ask().started == old_started else run[0] + 1
        return run[0] >= CLOSED_AFTER

    wait_for(check, what="the old Traefik to close its listeners", timeout=options.close_timeout,
             interval=0.02, last_seen=lambda: f"{run[0]} answers in a row from the new one",
             transient=(PlatformUnavailable,))  # fmt: skip


def _hand_streams_over(
    platform: ProxyPlatform, options: HandoverOptions, old: Instance, result: HandoverResult
) -> bool:
    """Signal the services' streams to end (their clients reconnect, to the new Traefik alone) until
    the old Traefik, holding nothing more, exits; again every STREAMS_EVERY seconds for a stream
    that reconnected to it at the last moment. Whether it exited within `exit_timeout`."""
    deadline = time.monotonic() + options.exit_timeout
    while time.monotonic() < deadline:
        signalled = platform.end_streams()
        if signalled:
            result.replicas_signalled = max(result.replicas_signalled, signalled)
            result.streams_signals += 1
        try:
            wait_for(lambda: not platform.running(old), what=f"{old.name} to exit",
                     timeout=min(STREAMS_EVERY, max(0.0, deadline - time.monotonic())),
                     interval=options.poll, transient=(PlatformUnavailable,))  # fmt: skip
            return True
        except WaitTimeout:
            continue
    return not platform.running(old)
