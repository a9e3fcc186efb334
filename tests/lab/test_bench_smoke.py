"""The bench's smoke cell, as CI runs it: the documented recipe (drain flag, `sleep 10`) and the
lab's rollout with --max-surge N, each on a fresh stack under the same load; the full matrix is
`make bench-strategies`, not part of CI."""

from __future__ import annotations

import pytest

from bench.strategies import DRAIN_SLEEP, RECIPE_SLEEP, SURGE, run_plan, smoke_plan
from lab.config import load_config

pytestmark = pytest.mark.lab


def test_the_smoke_cell_gives_a_table_a_plot_and_a_rollout_that_drops_nothing(tmp_path):
    rows = run_plan(smoke_plan(), tmp_path, base=load_config().with_overrides(out_dir=tmp_path))
    by_strategy = {row.strategy: row for row in rows}
    assert set(by_strategy) == {DRAIN_SLEEP, SURGE}
    ours, recipe = by_strategy[SURGE], by_strategy[DRAIN_SLEEP]
    for row in rows:
        print(" | ".join(row.cells()))
        assert row.error is None and row.requests > 100 and row.writes_acked > 0
    assert ours.failed == 0 and ours.writes_lost == 0, ours.cells()
    assert ours.floor is not None and ours.peak == 4, "2 serving + 2 new at once"
    assert ours.old_busy is not None and 0 < ours.old_busy < ours.seconds, (
        "old replicas answer until they stop"
    )
    assert recipe.seconds >= RECIPE_SLEEP and recipe.peak == 4
    table = (tmp_path / "strategies.md").read_text(encoding="utf-8")
    assert DRAIN_SLEEP in table and SURGE in table
    assert (tmp_path / "strategies.png").read_bytes()[:4] == b"\x89PNG"
