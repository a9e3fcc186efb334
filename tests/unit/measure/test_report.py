"""The report's figures of a rollout: its floor (what no zero-drop strategy can beat) and the
summary table."""

from __future__ import annotations

import pytest

from zerodrop.measure.report import summary_table


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


def test_the_floor_of_an_overlapped_rollout_starts_each_batch_once_the_one_before_is_routed():
    """At Docker's 30 s interval: app-4 starts as soon as app-3 is routed (30.5), while app-1 takes
    28 s to leave rotation; app-2 drains once app-4 is routed (61.5, app-1 out since 58.5) and stops
    at 90. Sequential, the same phases would start app-4 only at 58.5: a floor of 118."""
    from zerodrop.measure.report import rollout_floor
    from zerodrop.model import PhaseRecord
    from zerodrop.rollout.result import RolloutResult

    records = [
        PhaseRecord("start-to-healthy", "new app-3", 0, 30),
        PhaseRecord("healthy-to-routed", "new app-3", 30, 30.5),
        PhaseRecord("drain-to-out", "old app-1", 30.5, 58.5),
        PhaseRecord("stop", "old app-1", 58.5, 59),
        PhaseRecord("start-to-healthy", "new app-4", 30.5, 61),
        PhaseRecord("healthy-to-routed", "new app-4", 61, 61.5),
        PhaseRecord("drain-to-out", "old app-2", 61.5, 89.5),
        PhaseRecord("stop", "old app-2", 89.5, 90),
    ]
    batches = [(["app-1"], ["app-3"]), (["app-2"], ["app-4"])]
    overlapped = RolloutResult([], 90.0, records, batches=batches, overlap=True)
    assert rollout_floor(overlapped) == pytest.approx(90.0)
    assert "took 1.00x the floor" in summary_table(overlapped) and "overlapped" in summary_table(overlapped)
    assert rollout_floor(RolloutResult([], 90.0, records, batches=batches)) == pytest.approx(118.0)


def test_the_floor_of_an_overlapped_rollout_drains_the_next_batch_while_the_one_before_leaves():
    """app-1 takes until 70 to leave rotation (its check grid); app-2 drains at 61.5 all the same,
    once app-4 is routed, and is out at 80 and stopped at 81: the floor is 81, not app-1's exit
    plus app-2's own drain-to-stop (70 + 19.5)."""
    from zerodrop.measure.report import rollout_floor
    from zerodrop.model import PhaseRecord
    from zerodrop.rollout.result import RolloutResult

    records = [
        PhaseRecord("start-to-healthy", "new app-3", 0, 30),
        PhaseRecord("healthy-to-routed", "new app-3", 30, 30.5),
        PhaseRecord("drain-to-out", "old app-1", 30.5, 70),
        PhaseRecord("stop", "old app-1", 70, 71),
        PhaseRecord("start-to-healthy", "new app-4", 30.5, 61),
        PhaseRecord("healthy-to-routed", "new app-4", 61, 61.5),
        PhaseRecord("drain-to-out", "old app-2", 61.5, 80),
        PhaseRecord("stop", "old app-2", 80, 81),
    ]
    batches = [(["app-1"], ["app-3"]), (["app-2"], ["app-4"])]
    assert rollout_floor(RolloutResult([], 81.0, records, batches=batches, overlap=True)) == pytest.approx(
        81.0
    )


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
