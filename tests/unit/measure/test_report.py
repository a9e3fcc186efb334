"""The report's figures of a rollout: its floor (what no zero-drop strategy can beat) and the
summary table."""

from __future__ import annotations

import pytest

from zerodrop.measure.report import rollout_floor, summary_table
from zerodrop.model import PhaseRecord
from zerodrop.rollout.result import RolloutResult


def test_the_floor_sums_each_batch_and_adds_the_last_old_replicas_tail():
    from zerodrop.measure.report import rollout_floor
    from zerodrop.model import PhaseRecord
    from zerodrop.rollout.result import RolloutResult

    def phase(name: str, who: str, start: float, end: float) -> PhaseRecord:
        return PhaseRecord(name, who, start, end)

    records = [
        phase("start-to-healthy", "new app-3", 0, 2),
        phase("healthy-to-routed", "new app-3", 2, 3),
        phase("drain-to-out", "old app-1", 3, 4),
        phase("stop", "old app-1", 18, 19),
        phase("start-to-healthy", "new app-4", 4, 5.5),
        phase("healthy-to-routed", "new app-4", 5.5, 6),
        phase("drain-to-out", "old app-2", 6, 7),
        phase("stop", "old app-2", 20, 21),
    ]
    result = RolloutResult([], 21.0, records, batches=[(["app-1"], ["app-3"]), (["app-2"], ["app-4"])])
    assert rollout_floor(result) == (2 + 1 + 1) + (1.5 + 0.5 + 1) + (21 - 7)
    assert "took 1.00x the floor" in summary_table(result)
    assert rollout_floor(RolloutResult([], 1.0, records[:3], batches=[(["app-1"], ["app-3"])])) is None
    # app-1's last request outlasts the second batch and app-2's own: it sets the floor
    longer = [r if r.replica != "old app-1" or r.phase != "stop" else phase("stop", "old app-1", 24, 25)
              for r in records]  # fmt: skip
    result = RolloutResult([], 25.0, longer, batches=[(["app-1"], ["app-3"]), (["app-2"], ["app-4"])])
    assert rollout_floor(result) == (2 + 1 + 1) + (25 - 4)


def test_the_floor_counts_each_old_replica_of_a_batch_from_its_own_drain():
    """--max-surge 2: app-1 leaves rotation after 1 s, app-2 after 3 s; both go idle at 20 and stop
    by 21. The floor is the batch's start (slowest start-to-healthy 2 + slowest healthy-to-routed
    0.5) plus an old replica's drain to its stop (21 - 3 = 18), not the slowest drain-to-out (3)
    added to app-1's own tail from leaving rotation (17)."""
    from zerodrop.measure.report import rollout_floor
    from zerodrop.model import PhaseRecord
    from zerodrop.rollout.result import RolloutResult

    records = [
        PhaseRecord("start-to-healthy", "new app-3", 0, 2),
        PhaseRecord("start-to-healthy", "new app-4", 0, 1.5),
        PhaseRecord("healthy-to-routed", "new app-3", 2, 2.5),
        PhaseRecord("healthy-to-routed", "new app-4", 2.5, 3),
        PhaseRecord("drain-to-out", "old app-1", 3, 4),
        PhaseRecord("drain-to-out", "old app-2", 3, 6),
        PhaseRecord("stop", "old app-1", 20, 21),
        PhaseRecord("stop", "old app-2", 20, 21),
    ]
    result = RolloutResult([], 21.2, records, batches=[(["app-1", "app-2"], ["app-3", "app-4"])])
    assert rollout_floor(result) == (2 + 0.5) + (21 - 3)


def overlapped_phases(app1_out: float, app2_out: float, stop: float) -> list[PhaseRecord]:
    """Two batches at Docker's 30 s interval: app-4 starts once app-3 is routed (30.5); app-1
    leaves rotation at `app1_out`, app-2 (drained once app-4 is routed, 61.5) at `app2_out`;
    each stops in `stop` seconds."""
    return [
        PhaseRecord("start-to-healthy", "new app-3", 0, 30),
        PhaseRecord("healthy-to-routed", "new app-3", 30, 30.5),
        PhaseRecord("drain-to-out", "old app-1", 30.5, app1_out),
        PhaseRecord("stop", "old app-1", app1_out, app1_out + stop),
        PhaseRecord("start-to-healthy", "new app-4", 30.5, 61),
        PhaseRecord("healthy-to-routed", "new app-4", 61, 61.5),
        PhaseRecord("drain-to-out", "old app-2", 61.5, app2_out),
        PhaseRecord("stop", "old app-2", app2_out, app2_out + stop),
    ]


@pytest.mark.parametrize(
    ("app1_out", "app2_out", "stop", "overlapped", "sequential"),
    [
        # app-1 out at 58.5, before app-4 is routed: sequential would start app-4 only then
        (58.5, 89.5, 0.5, 90.0, 118.0),
        # app-1 out only at 70 (its check grid): app-2 drains at 61.5 all the same, out at 80,
        # stopped at 81; not app-1's exit plus app-2's own drain-to-stop (70 + 19.5)
        (70.0, 80.0, 1.0, 81.0, 120.5),
    ],
)
def test_the_floor_of_an_overlapped_rollout_starts_and_drains_each_batch_once_the_one_before_is_routed(
    app1_out, app2_out, stop, overlapped, sequential
):
    batches = [(["app-1"], ["app-3"]), (["app-2"], ["app-4"])]
    records = overlapped_phases(app1_out, app2_out, stop)
    result = RolloutResult([], overlapped, records, batches=batches, overlap=True)
    assert rollout_floor(result) == pytest.approx(overlapped)
    assert "took 1.00x the floor" in summary_table(result) and "overlapped" in summary_table(result)
    assert rollout_floor(RolloutResult([], overlapped, records, batches=batches)) == pytest.approx(sequential)


def test_the_floor_ends_with_the_last_check_through_the_entrypoint():
    """A service whose check path takes 10 s to answer (the article's program): the rollout's last
    request through Traefik's entrypoint is part of its time, and of its floor."""
    from zerodrop.measure.report import rollout_floor
    from zerodrop.model import PhaseRecord
    from zerodrop.rollout.result import RolloutResult

    records = [
        PhaseRecord("start-to-healthy", "new app-3", 0, 2),
        PhaseRecord("healthy-to-routed", "new app-3", 2, 3),
        PhaseRecord("drain-to-out", "old app-1", 3, 4),
        PhaseRecord("stop", "old app-1", 8, 9),
        PhaseRecord("last-check", "Traefik's entrypoint", 9, 19),
    ]
    result = RolloutResult([], 19.0, records, batches=[(["app-1"], ["app-3"])], overlap=True)
    assert rollout_floor(result) == pytest.approx(9 + 10)
