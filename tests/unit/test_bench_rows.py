"""Pure parts of the strategies bench."""

from __future__ import annotations

from bench.rollout_calls import Call, kind_of
from bench.strategy_runs import old_replicas_busy_until
from zerodrop.measure.records import RequestRecord


def test_old_replicas_are_busy_until_their_last_answer_ends():
    records = [
        RequestRecord("long", 100.0, end=115.0, version="v1"),
        RequestRecord("short", 116.0, end=116.1, version="v2"),
        RequestRecord("short", 114.0, end=114.2, version="v1"),
        RequestRecord("short", 117.0, end=117.5, version=None, error="http-502"),
    ]
    assert old_replicas_busy_until(records, "v2", started_at=101.0) == 14.0
    assert old_replicas_busy_until(records[1:2], "v2", started_at=101.0) is None


def test_calls_are_grouped_by_method_and_path_without_ids_or_query():
    container = "a" * 64
    inspect = Call(0.0, 0.1, "MainThread", "api", f"GET v1.41/containers/{container}/json")
    exec_start = Call(0.0, 0.1, "retire-app-1", "api", f"POST v1.41/exec/{'b' * 64}/start")
    listing = Call(0.0, 0.1, "MainThread", "api", "GET v1.41/containers/json?limit=-1&all=1")
    assert kind_of(inspect) == "GET containers/<id>/json"
    assert kind_of(exec_start) == "POST exec/<id>/start"
    assert kind_of(listing) == "GET containers/json"
    assert kind_of(Call(0.0, 1.0, "MainThread", "cli", "compose up -d")) == "docker CLI (compose)"


def test_the_published_strategies_table_reads_back_into_rows():
    """docs/evidence.md's table is what the bench wrote: it reads back whole, so the picture can be
    redrawn from it by the current plotting code."""
    from bench.strategy_kinds import RECREATE
    from bench.strategy_rows import rows_from_table
    from lab.config import REPO_ROOT

    rows = rows_from_table((REPO_ROOT / "docs" / "evidence.md").read_text(encoding="utf-8"))
    assert len(rows) == 34
    assert all(r.failed > 0 for r in rows if r.strategy == RECREATE)
    assert all(r.failed == 0 for r in rows if r.strategy.startswith("lab rollout"))


def test_the_bench_reads_a_rollouts_floor_and_cost_from_its_printed_summary():
    """The strategies bench runs `python -m lab rollout` in a process of its own and reads its
    floor and its cost from the summary it prints: the same lines summary_table writes."""
    from bench.strategy_kinds import summary_figures
    from zerodrop.measure.report import summary_table
    from zerodrop.model import PhaseRecord
    from zerodrop.rollout.result import RolloutResult
    from zerodrop.rollout.tool_cost import ToolCost

    records = [
        PhaseRecord("start-to-healthy", "new app-3", 0, 2),
        PhaseRecord("healthy-to-routed", "new app-3", 2, 3),
        PhaseRecord("drain-to-out", "old app-1", 3, 4),
        PhaseRecord("stop", "old app-1", 8, 9),
    ]
    cost = ToolCost(1.25, 0.5, 61.0)
    result = RolloutResult([("app-1", "app-3")], 9.5, records, batches=[(["app-1"], ["app-3"])], cost=cost)
    floor, read = summary_figures(summary_table(result) + "\nrollout: phase log x.jsonl\n")
    assert floor == 9.0 and read == ToolCost(1.2, 0.5, 61.0)  # printed to a tenth
    assert summary_figures("total 1.0s\n") == (None, None)
