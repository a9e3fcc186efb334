"""The bench's smoke cell, as CI runs it: the documented recipe (drain flag, `sleep 10`) and the
lab's rollout with --max-surge N, each on a fresh stack under the same load; the full matrix is
`make bench-strategies`, not part of CI."""

from __future__ import annotations

import subprocess

import pytest

from bench import proxy_handover as proxy_bench
from bench import up as up_bench
from bench.own_service import COMPOSE_UP, actions, run_one
from bench.strategies import smoke_plan
from bench.strategy_kinds import DRAIN_SLEEP, ONE, RECIPE_SLEEP, SURGE
from bench.strategy_runs import run_plan
from bench.streams import streams_plan, streams_table
from lab.config import REPO_ROOT, load_config
from lab.example_shop import build_images
from zerodrop.adapters.docker_sdk import connect

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


def test_the_own_service_bench_runs_a_strategy_and_counts_its_drops():
    """`make bench-own-service`'s smoke: one row, `docker compose up -d` on the example shop, which
    recreates every replica at once and must drop requests (the baseline the tool is judged by)."""
    build_images()
    row = run_one(COMPOSE_UP, actions(None)[COMPOSE_UP], {"long": 2, "short": 20.0, "write": 10.0})
    print(" | ".join(row.cells(None)))
    assert row.exit_code == 0 and row.requests > 50
    assert row.failed > 0 and any(kind.endswith("http-404") for kind in row.kinds), row.kinds


def test_the_up_bench_counts_what_compose_up_drops_on_both_routed_services():
    """`make bench-up`'s smoke: compose's row, every image of the whole-project example changed at
    once: compose recreates web and api together, and requests to both fail (zerodrop up's own row
    is tests/lab/test_up.py's, with the same change under the same two probes)."""
    build_images()
    row = up_bench.run_one(up_bench.COMPOSE_UP, up_bench.actions()[up_bench.COMPOSE_UP], settle=30)
    print(" | ".join(row.cells()))
    assert row.exit_code == 0 and min(row.requests.values()) > 50
    assert row.failed["web"] > 0 and row.failed["api"] > 0, row.failed


def test_the_proxy_handover_bench_replaces_traefik_with_no_request_failed():
    """`make bench-proxy-handover`'s smoke: two Traefiks with reusePort in the network namespace an
    anchor container holds, the anchor steering new connections to the oldest; the old one gets
    SIGTERM once the new one routes the app (its own API): not one request fails, on the probe's
    kept-alive connections or on fresh ones (no streams held here: the bench counts how they end)."""
    row = proxy_bench.run_one(connect(), proxy_bench.SMOKE, streams=False)
    print(" | ".join(row.cells()))
    assert row.requests > 100 and row.failed == 0, row.kinds
    assert row.fresh > 100 and row.fresh_failed == {}, row.fresh_failed
    assert row.phases["new routes loaded"] > 0 and row.phases["old stopped"] > 0


def test_the_streams_bench_counts_held_streams_for_a_strategy(tmp_path):
    """`make bench-streams`'s smoke: its one-at-a-time rollout row, under the default load plus 4 SSE
    streams and 2 WebSockets: every stream handed over, none dropped, and the row in the table."""
    cell = next(c for c in streams_plan() if c.strategy == ONE)
    (row,) = run_plan([cell], tmp_path, base=load_config().with_overrides(out_dir=tmp_path), draw=False)
    print(streams_table([row]))
    assert row.error is None and row.failed == 0 and row.streams == 6
    assert row.streams_dropped == {} and row.handed_over >= 6
    assert f"| {ONE} | 6 | {row.handed_over} | 0 |" in streams_table([row])


def test_the_start_interval_bench_runs_the_lab_on_an_engine_26_node(tmp_path):
    """`make bench-start-interval`'s smoke: the compose lab, one replica, interval 30 s, on an
    Engine-26 node through its Docker API on 127.0.0.1, rolled v1 -> v2 with start_interval 1 s
    under the probe (`lab demo`, streams held). The new replica is healthy long before the 30 s
    interval: Docker checks it every start_interval (without it, the first check comes at 30 s);
    nothing fails and no stream is dropped."""
    from bench.start_interval import WITH, node_rows, table

    subprocess.run(["bash", "scripts/build-cluster-node-image.sh"], cwd=REPO_ROOT, check=True)
    (row,) = node_rows(tmp_path, [WITH], replicas=1)
    print(table([row]))
    assert row["rollout_seconds"] and row["floor_seconds"], row
    assert float(row["start-to-healthy"]) < 10, f"start_interval was not used: {row}"  # type: ignore[arg-type]
    assert str(row["failed"]).startswith("0 / ") and row["streams_dropped"] == "none", row


def test_the_defaults_bench_runs_the_overlapped_rollout_under_load_with_nothing_dropped(tmp_path):
    """`make bench-defaults`'s smoke: the overlapped one-at-a-time rollout, 2 replicas, on a fresh
    stack under load with streams: nothing dropped, exit 0, the rollout's own cost in the row, and
    the second batch's replica created while the first old replica was still leaving rotation."""
    import json

    from bench.defaults import plan, table

    (row,) = run_plan(
        plan(smoke=True), tmp_path, base=load_config().with_overrides(out_dir=tmp_path), draw=False
    )
    print(table([row]))
    assert row.strategy == ONE and row.error is None and row.failed == 0 and row.exit_code == 0, row
    assert row.streams == 6 and row.streams_dropped == {} and row.tool_cpu is not None, row
    entries = [
        json.loads(line) for line in (tmp_path / f"{row.project}.rollout.jsonl").read_text().splitlines()
    ]
    creates = [e["start"] for e in entries if e["event"] == "begin" and e["phase"] == "create"]
    outs = [e["end"] for e in entries if e["event"] == "end" and e["phase"] == "drain-to-out"]
    assert len(creates) == 2 and creates[1] < min(outs), (creates, outs)
