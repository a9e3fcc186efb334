"""A rollout's interrupts: SIGINT, SIGTERM, SIGHUP (a closed terminal, a dropped SSH session) and
SIGQUIT each ask it to undo its step and stop; a terminal that has gone away stops the progress
lines, never the rollout or its undo."""

from __future__ import annotations

import os
import signal

import pytest

from tests.unit.fake_platform import FakePlatform
from zerodrop.cli.signals import signals_to
from zerodrop.errors import RolloutInterrupted
from zerodrop.model import Release
from zerodrop.rollout.deadlines import resolve_timeouts
from zerodrop.rollout.engine import RolloutEngine
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.rollout.result import Interrupt


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGQUIT, signal.SIGINT, signal.SIGTERM])
def test_a_hang_up_or_quit_is_an_interrupt_like_sigint(signum):
    interrupt = Interrupt()
    with signals_to(interrupt):
        os.kill(os.getpid(), signum)
    assert interrupt.signum == signum
    assert signal.getsignal(signum) is not None  # the old handler is back


def test_a_rollout_hung_up_mid_drain_undoes_its_batch_and_exits_129_though_the_terminal_is_gone():
    """SIGHUP as app-1 drains, and every progress line after it fails as a closed terminal does
    (EIO): the batch is undone all the same, v1 x2 serve, and the exit status is 128 + 1."""
    platform = FakePlatform()
    interrupt = Interrupt()
    gone: list[bool] = []

    def out(line: str) -> None:
        if gone:
            raise OSError(5, "Input/output error")

    def hang_up(_: FakePlatform) -> None:
        interrupt.request(signal.SIGHUP)
        gone.append(True)

    platform.on("drain app-1", hang_up)
    options = RolloutOptions(target=Release("v2"), poll_interval=0.001)
    log = RolloutLog(out=out)
    engine = RolloutEngine(platform, options, resolve_timeouts(None, None, None), log, interrupt)
    with pytest.raises(RolloutInterrupted) as stopped:
        engine.run()
    assert stopped.value.exit_code == 129
    assert log.silenced
    assert {r.version for r in platform.serving()} == {"v1"} and len(platform.serving()) == 2
