"""When the next batch may go on, between batches: room under --max-draining before it starts,
and the batch before handed over (its old replicas out of Traefik's rotation) before it drains."""

from __future__ import annotations

from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import Batch
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.retirement_pool import Retirements


def wait_for_room(gates: ReplicaWaits, retiring: Retirements, log: RolloutLog, needed: int, cap: int) -> None:
    """Wait until `needed` more old replicas may retire beside those retiring now (at most `cap`)."""

    def room() -> bool:
        return retiring.active() + needed <= cap

    if room():
        return
    with log.phase("wait-for-room", f"{retiring.active()} retiring"):
        gates.until(room, f"room under --max-draining {cap}", retiring.bound(), retiring.ended)


def wait_for_handover(
    gates: ReplicaWaits, retiring: Retirements, log: RolloutLog, before: list[Batch]
) -> None:
    """Wait until Traefik has dropped the old replicas of every batch in `before`."""

    def handed_over() -> bool:
        return all(retiring.handed_over(b.old) for b in before)

    if handed_over():
        return
    with log.phase("wait-for-handover", "the batch before"):
        gates.until(
            handed_over, "the batch before to leave Traefik's rotation", retiring.bound(), retiring.moved
        )
