"""The rollout history and the lock (zerodrop.rollout.history), and what `lab up` and `lab down` do."""

from __future__ import annotations

import pytest

from lab.compose_lab import lab_down, lab_up, up_release
from lab.config import load_config
from zerodrop.errors import HistoryUnreadable, InputError
from zerodrop.model import Release
from zerodrop.rollout.history import current_release, remember_rollout
from zerodrop.rollout.lock import rollout_lock


@pytest.mark.parametrize("text", ["{not json", '[{"from_release": 1}]', "42", "\xff"])
def test_a_corrupt_history_is_one_line_of_bad_input(tmp_path, text):
    (tmp_path / "p.history.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(HistoryUnreadable, match="cannot be read"):
        current_release(tmp_path, "p")


def test_lab_up_and_down_wait_for_no_one_while_a_rollout_holds_the_lock(tmp_path):
    """A rollout holds the lock: `lab up` and `lab down` refuse at once, before touching Docker
    or compose (the client here is None: any use of it would fail differently)."""
    cfg = load_config().with_overrides(state_dir=tmp_path, project="locked")
    with rollout_lock(tmp_path, "locked", "rollout to v2"):
        with pytest.raises(InputError, match="already running"):
            lab_up(None, cfg)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="already running"):
            lab_down(cfg)


def test_lab_up_keeps_the_version_the_replicas_run_not_a_stale_record():
    """A rollout to v2 interrupted during its last retirements: every replica runs v2, but the
    last completed rollout says v1. `up` must keep v2 (compose would recreate them as v1)."""
    assert up_release(["v2", "v2"], Release("v1", {"SLOW_SECONDS": "3"})) == Release("v2")
    assert up_release(["v2"], Release("v2", {"SLOW_SECONDS": "3"})) == Release("v2", {"SLOW_SECONDS": "3"})
    assert up_release([], Release("v1")) is None


def test_lab_up_refuses_mixed_versions():
    with pytest.raises(InputError, match="several versions"):
        up_release(["v1", "v2"], None)


def test_history_round_trip(tmp_path):
    remember_rollout(tmp_path, "p", Release("v1"), Release("v2", {"A": "1"}))
    assert current_release(tmp_path, "p") == Release("v2", {"A": "1"})
