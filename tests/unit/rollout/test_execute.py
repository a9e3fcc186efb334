"""A whole rollout as the CLI runs it (execute_rollout: lock, mend, roll, remember), and the recover
command, on the scripted fake platform: no Docker."""

from __future__ import annotations

import pytest

from lab.config import load_config
from tests.unit.fake_platform import FakePlatform
from zerodrop.errors import RolloutInputError, RolloutLocked
from zerodrop.model import Release
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.history import current_release, load_history
from zerodrop.rollout.lock import lock_state, rollout_lock
from zerodrop.rollout.mend import execute_recover
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.target import ComposeTarget


@pytest.fixture
def target(tmp_path) -> ComposeTarget:
    return load_config({"LAB_STATE_DIR": str(tmp_path / "state"), "LAB_PROJECT": "fake"})


def options(version: str = "v2", *, build: bool = True) -> RolloutOptions:
    return RolloutOptions(Release(version), build=build, poll_interval=0.001)


def test_a_whole_rollout_runs_on_the_fake_platform_and_is_remembered(target):
    platform = FakePlatform()
    lines: list[str] = []
    result = execute_rollout(platform, target, options(), None, lines.append)
    assert len(result.replaced) == 2 and {r.version for r in platform.serving()} == {"v2"}
    assert current_release(target.state_dir, target.project) == Release("v2")
    assert not lock_state(target.state_dir, target.project).held
    assert lines[0].startswith("rollout: deadlines: health "), "the deadlines are resolved and said first"


def test_a_rollout_whose_only_failure_is_the_last_check_keeps_the_new_release_as_deployed(target):
    """History records it as unverified, which counts as deployed: a later recover or rollback
    works from the new release, never brings the old image back as if it had failed."""
    platform = FakePlatform(check_answers=401, answer_timeout=0.05)
    platform.check_answers = 503
    result = execute_rollout(platform, target, options(), None, lambda _: None)
    assert result.unverified is not None and "503" in result.unverified
    assert current_release(target.state_dir, target.project) == Release("v2")
    assert [e.outcome for e in load_history(target.state_dir, target.project)] == ["unverified"]


def test_the_next_rollout_mends_what_a_killed_one_left_first(target):
    platform = FakePlatform()
    drained = platform.replicas()[0]
    platform.drain(drained.id)  # a rollout killed right after its drain
    lock_file = target.state_dir / f"{target.project}.rollout.lock"
    lock_file.parent.mkdir(parents=True)
    lock_file.write_text("pid 1, rollout to v2, since 12:00:00")  # its holder died: a stale lock
    lines: list[str] = []
    execute_rollout(platform, target, options(), None, lines.append)
    assert any(line.startswith("rollout: found: stale rollout lock") for line in lines), lines
    assert {r.version for r in platform.serving()} == {"v2"} and len(platform.serving()) == 2


def test_a_rollout_that_cannot_start_changes_nothing_and_remembers_nothing(target):
    platform = FakePlatform()
    with pytest.raises(RolloutInputError, match="does not exist"):
        execute_rollout(platform, target, options("v9", build=False), None, lambda _: None)
    with rollout_lock(target.state_dir, target.project), pytest.raises(RolloutLocked):
        execute_rollout(platform, target, options(), None, lambda _: None)
    assert not platform.built and not any(
        call.startswith(("scale_up", "drain", "stop")) for call in platform.calls
    )
    assert current_release(target.state_dir, target.project) is None


def test_recover_is_its_own_command_and_says_recover(target):
    platform = FakePlatform()
    platform.drain(platform.replicas()[0].id)
    lines: list[str] = []
    done = execute_recover(platform, target, out=lines.append)
    assert lines and all(line.startswith("recover: ") for line in lines), lines
    assert "drained replica still running" in " ".join(done.found)
    assert len(platform.serving()) == 2 and done.still == []
