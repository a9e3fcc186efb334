"""When the next batch may start: room under --max-draining for its old replicas to retire."""

from __future__ import annotations

from zerodrop.rollout.phase_log import RolloutLog
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
