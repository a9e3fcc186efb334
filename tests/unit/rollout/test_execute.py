"""A whole rollout as the CLI runs it (execute_rollout: lock, mend, roll, remember), and the recover
command, on the scripted fake platform: no Docker."""

from __future__ import annotations

import pytest

from lab.config import load_config
from tests.unit.fake_platform import FakePlatform
from zerodrop.errors import RecoverFailed, RolloutInputError, RolloutLocked
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
    platform = FakePlatform(check_answers=503, answer_timeout=0.05)
    quick = RolloutOptions(Release("v2"), poll_interval=0.001, route_timeout=0.2)
    result = execute_rollout(platform, target, quick, None, lambda _: None)
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


def stale_lock(target: ComposeTarget, text: str) -> None:
    """What a killed rollout leaves: its marker in the lock file, the lock itself let go."""
    lock_file = target.state_dir / f"{target.project}.rollout.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock_file.write_text(text)


def test_a_recover_that_fails_keeps_the_evidence_of_the_killed_rollout(target):
    """The killed rollout's marker stays until a clean finish: a recover that fails (its new
    replica never gets healthy) must not erase it, so the next look still says what happened."""
    platform = FakePlatform(count=1, new_behaviour={"never_healthy": True})
    stale_lock(target, "pid 4242, rollout to v2, since 10:00:00, from 2 replicas")
    with pytest.raises(RecoverFailed):
        execute_recover(
            platform, target.with_overrides(replicas=2), health=0.05, route=0.05, out=lambda _: None
        )
    state = lock_state(target.state_dir, target.project)
    assert state.stale and state.replicas == 2, state.holder
    done = execute_recover(FakePlatform(count=2), target.with_overrides(replicas=2), out=lambda _: None)
    assert done.still == [] and not lock_state(target.state_dir, target.project).stale


def test_a_service_scaled_by_hand_recovers_to_its_count_not_its_count_plus_one(target):
    """No deploy.replicas: the count comes from the running replicas, which a killed rollout left
    one too many of. The count the rollout stored when it began wins."""
    platform = FakePlatform(count=3)
    stale_lock(target, "pid 4242, rollout to v2, since 10:00:00, from 2 replicas")
    done = execute_recover(platform, target.with_overrides(replicas=3), out=lambda _: None)
    assert len(platform.serving()) == 2 and done.still == []


def test_a_rollout_stores_the_count_it_starts_from_in_its_marker(target):
    platform = FakePlatform(count=2)
    seen: list[str] = []
    platform.on("drain app-1", lambda _: seen.append(lock_state(target.state_dir, target.project).holder))
    execute_rollout(platform, target.with_overrides(replicas=2), options(), None, lambda _: None)
    assert seen and seen[0].endswith("from 2 replicas")


@pytest.mark.parametrize(("health", "route"), [(1e9, None), (None, float("inf")), (-1, None)])
def test_recover_deadlines_are_bounded_like_a_rollouts(target, health, route):
    platform = FakePlatform()
    with pytest.raises(RolloutInputError, match="must be a positive number of seconds"):
        execute_recover(platform, target, health=health, route=route, out=lambda _: None)
    assert not any(call.startswith(("scale_up", "drain", "stop")) for call in platform.calls)
