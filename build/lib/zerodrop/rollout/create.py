"""Creating a batch's new replicas beside the old ones: one compose scale, and exactly what it
created, even when it failed half-way (those are the batch's to undo)."""

from __future__ import annotations

from functools import partial

from zerodrop.errors import RolloutFailed
from zerodrop.model import Release, Replica
from zerodrop.rollout.membership import Membership
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import Batch
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits


def create_batch(
    platform: ServicePlatform,
    target: Release,
    batch: Batch,
    *,
    log: RolloutLog,
    membership: Membership,
    unguarded: ReplicaWaits,
    call_timeout: float,
) -> tuple[list[Replica], int]:
    """Start one new replica of `target` per old replica of the batch; the new replicas, and how
    many of the service's replicas ran at that moment. RolloutFailed if compose started another
    number (what it did start is in `batch.new` for the undo)."""
    with log.phase("create", f"{len(batch.old)} x {target.version}"):
        # compose counts every container of the service, stopped ones too: none may be removed
        # while it runs, or it would start one replica too many (retirements wait their turn).
        with membership.composing():
            before = platform.replicas(include_stopped=True)
            known = {r.id for r in before}
            try:
                platform.scale_up(target, len(before) + len(batch.old))
            finally:
                # Even when compose failed half-way: what it created is the batch's, to undo.
                now = unguarded.call(  # unguarded: an interrupt must not lose them
                    partial(platform.replicas, include_stopped=True),
                    "listing the new replicas",
                    call_timeout,
                )
                batch.new = [r for r in now if r.id not in known]
        running = sum(1 for r in now if r.status == "running")
        if len(batch.new) != len(batch.old):
            raise RolloutFailed(f"expected {len(batch.old)} new replica(s), compose started {len(batch.new)}")
    return batch.new, running
