"""Deadlines that are deadlines (issue 17, item 6): a docker command, the retirements' finish and
a gate are each bounded as a whole, not per retry or per replica."""

from __future__ import annotations

import threading
import time

import pytest

from tests.unit.fake_platform import FakePlatform
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.errors import DockerCliError, WaitTimeout
from zerodrop.rollout.membership import Membership
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.retirement import Retirement
from zerodrop.rollout.retirement_pool import Retirements
from zerodrop.waits import wait_for


@pytest.fixture
def hanging_docker(tmp_path, monkeypatch):
    """A `docker` on the PATH that hangs (as compose does behind an engine that does not answer)."""
    script = tmp_path / "docker"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")


def test_a_docker_command_ends_as_soon_as_the_rollout_is_interrupted(hanging_docker):
    asked = time.monotonic()
    with pytest.raises(DockerCliError, match="interrupted"):
        run_docker(
            "compose", "up", env={"PATH": "/usr/bin:/bin"}, should_stop=lambda: time.monotonic() - asked > 0.3
        )
    assert time.monotonic() - asked < 3


def test_a_docker_command_ends_at_its_timeout(hanging_docker):
    asked = time.monotonic()
    with pytest.raises(DockerCliError, match="timed out"):
        run_docker("compose", "up", env={"PATH": "/usr/bin:/bin"}, timeout=0.3)
    assert time.monotonic() - asked < 3


def test_retirements_finish_within_one_bound_not_one_per_retirement():
    """Three retirements that never end: finish() gives up after one bound, not three."""
    platform = FakePlatform()
    retiring = Retirements(
        platform, RolloutLog(out=lambda _: None), poll=0.01, call_timeout=0.01, membership=Membership()
    )
    retiring.bound = lambda: 0.3  # type: ignore[method-assign]
    retiring.all = [Retirement(platform.by_name(n).replica, 0.0, []) for n in ("app-1", "app-2")]
    retiring.all.append(Retirement(platform._add("v1", healthy=True).replica, 0.0, []))
    started = time.monotonic()
    retiring.finish()
    assert time.monotonic() - started < 0.6
    assert len(retiring.errors) == 3


def test_a_gate_is_bounded_even_when_one_call_hangs():
    """A check whose one call hangs (an engine that accepts and never answers): the wait still
    ends at its deadline, not when the call does."""
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="still running at the deadline"):
        wait_for(lambda: release.wait(5), what="a hanging call", timeout=0.3, interval=0.05)
    release.set()
    assert time.monotonic() - started < 1.5


def test_a_call_that_hangs_past_its_wait_does_not_hold_the_process_open():
    """A wait gives up at its deadline while its call still hangs (an engine that stopped
    answering): the process must still end once it has said so, not wait for the call."""
    import subprocess
    import sys

    script = (
        "import threading\n"
        "from zerodrop.errors import WaitTimeout\n"
        "from zerodrop.waits import wait_for\n"
        "try:\n"
        "    wait_for(lambda: threading.Event().wait(), what='a hung call', timeout=0.2)\n"
        "except WaitTimeout as error:\n"
        "    print('gave up:', error)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0 and "gave up" in done.stdout, done.stderr
    assert time.monotonic() - started < 10, "the hung call held the process open"
