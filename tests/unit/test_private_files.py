"""zerodrop's state is private: the folders it makes 0700, its lock, history, phase log and
override files 0600, whatever the umask; a folder it did not make is left as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from zerodrop.adapters.contract_app import ContractApp
from zerodrop.model import Release
from zerodrop.rollout.contract import parse_contract
from zerodrop.rollout.history import remember_rollout
from zerodrop.rollout.lock import rollout_lock
from zerodrop.rollout.phase_log import open_log


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_folders_are_0700_and_state_files_0600(tmp_path):
    old = os.umask(0o022)
    try:
        state = tmp_path / "home" / ".local" / "state" / "zerodrop" / "services" / "web"
        with rollout_lock(state, "shop"):
            pass
        remember_rollout(state, "shop", Release("v1"), Release("v2"))
        log = open_log(state / "rollout-shop-web.jsonl")
        assert log is not None
        log.close()
        override = ContractApp(None, "web", parse_contract("sigterm"), override_dir=tmp_path / "home" / "ov")  # type: ignore[arg-type]
        _, files = override.compose_for(Release("shop:v2"))
    finally:
        os.umask(old)
    assert {
        mode(p) for p in (state, state.parent, tmp_path / "home" / ".local", tmp_path / "home" / "ov")
    } == {0o700}
    made = [*state.iterdir(), *files]
    assert made and {mode(p) for p in made} == {0o600}, [(p.name, oct(mode(p))) for p in made]
    before = mode(tmp_path)
    open_log(tmp_path / "user-chosen.jsonl").close()  # type: ignore[union-attr]
    assert mode(tmp_path) == before and mode(tmp_path / "user-chosen.jsonl") == 0o600
