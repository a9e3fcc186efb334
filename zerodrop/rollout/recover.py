"""Recover: the procedure that brings a service back to N ready, routed replicas after a rollout
that is gone (mend decides when to run it; undo is the running rollout's own).

Dropping no request: stopped containers removed, drained replicas put back (or retired, if extra or if their
drain cannot be taken back), missing replicas started, and only then extras retired gracefully.

Like a rollout, it checks Traefik's router before it creates anything, and undoes what it created
when a gate fails: its new replicas are drained, confirmed out of Traefik's list and stopped with
their grace, so it never ends with fewer routed replicas than it started with."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from zerodrop.errors import RecoverFailed, first_line
from zerodrop.model import Release, Replica, is_ready
from zerodrop.rollout.leftovers import ServiceView, look
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.retirement import CutWork, retire
from zerodrop.rollout.undo import Undo


def _retirement_order(view: ServiceView) -> list[Replica]:
    """Which running replicas to retire first when there are too many: the drained (already out
    of rotation), then the not ready, then the newest."""

    def key(replica: Replica) -> tuple[int, int, int]:
        return (not view.drained(replica), is_ready(replica.health), -replica.number)

    return sorted(view.running, key=key)


@dataclass
class _Recovery:
    """One recover's platform, gates, log and deadlines."""

    platform: ServicePlatform
    gates: ReplicaWaits
    log: RolloutLog
    health_timeout: float
    route_timeout: float

    def start_missing(self, missing: int, total: int, release: Release) -> None:
        """Start `missing` replicas of `release` (the service then runs `total`, extras included)
        and wait until each is healthy and routed with the router intact; on any failure take
        every one it started away again, and raise RecoverFailed."""
        platform, gates = self.platform, self.gates
        before = {r.id for r in platform.replicas(include_stopped=True)}
        started: list[Replica] = []
        try:
            with self.log.phase("create", f"{missing} x {release.version}"):
                platform.scale_up(release, total)  # extras still run until retired
            started = [r for r in platform.replicas(include_stopped=True) if r.id not in before]
            for replica in started:
                with self.log.phase("start-to-routed", f"new {replica.name}", replica.created):
                    gates.healthy(replica, self.health_timeout)
                    gates.routed(replica, self.route_timeout)
        except Exception as error:
            started = started or [r for r in platform.replicas(include_stopped=True) if r.id not in before]
            self.take_away(started, error)
            raise RecoverFailed(f"{first_line(error)}; the replica(s) it started were taken away") from error

    def take_away(self, started: list[Replica], error: Exception) -> None:
        """The replicas recover started, drained, out of Traefik's list and retired (as the
        rollout's undo takes away a new replica); what cannot be done is said."""
        self.log.note(
            f"stopping: {first_line(error)}; taking away the {len(started)} replica(s) recover started"
        )
        undo = Undo(self.platform, ReplicaWaits(self.platform, self.gates.poll), self.log, self.route_timeout)
        for replica in started:
            try:
                undo.take_away(replica)
            except Exception as undo_error:  # said, and the next one is still taken away
                self.log.note(f"left behind: {replica.name}: {first_line(undo_error)}")

    def retire_extras(self, view: ServiceView, extra: list[Replica]) -> list[CutWork]:
        """Drain each extra replica, wait until Traefik drops it, and retire it; the work cut."""
        platform, gates, timeout = self.platform, self.gates, self.route_timeout
        cut: list[CutWork] = []
        for replica in extra:
            began = time.time()
            if not view.drained(replica):
                gates.call(partial(platform.drain, replica.id), f"draining {replica.name}", timeout)
            with self.log.phase("drain-to-out", f"extra {replica.name}", began):
                gates.unrouted(replica, timeout)
            label = f"extra {replica.name}"
            done = retire(
                platform, gates, self.log, replica, label=label, drain_began=began, call_timeout=timeout
            )
            cut += [done] if done else []
        return cut


def recover(
    platform: ServicePlatform,
    gates: ReplicaWaits,
    log: RolloutLog,
    desired: int,
    release: Release,
    *,
    health_timeout: float,
    route_timeout: float,
) -> list[CutWork]:
    """Bring the service to `desired` ready replicas that Traefik routes, dropping no request:
    remove stopped containers, put kept drained replicas back and start missing ones (of
    `release`) before retiring any extra replica gracefully. Returns work that had to be cut.
    RecoverFailed when Traefik's router does not route now (nothing changed), or when a replica it
    started did not come up (then taken away again)."""
    view = look(platform)
    if view.running:  # with nothing running there is no router yet, and nothing it could break
        problem = platform.route_problem()  # also what later looks compare the rule with
        if problem is not None:
            raise RecoverFailed(f"not starting: {problem}")
    this = _Recovery(platform, gates, log, health_timeout, route_timeout)
    for replica in view.replicas:
        if replica.status != "running":
            with log.phase("remove", f"stopped {replica.name}"):
                gates.call(partial(platform.remove, replica.id), f"removing {replica.name}", route_timeout)
    ordered = _retirement_order(view)
    extra = ordered[: max(0, len(ordered) - desired)]
    if not platform.reclaimable:  # a drain that cannot be taken back: such a replica retires
        extra += [r for r in ordered if view.drained(r) and r not in extra]
    keep = [r for r in view.running if r not in extra]
    for replica in keep:
        if view.drained(replica):
            gates.call(partial(platform.undrain, replica.id), f"undraining {replica.name}", route_timeout)
        with log.phase("back-in", f"kept {replica.name}"):
            gates.healthy(replica, health_timeout)
            gates.routed(replica, route_timeout)
    if len(keep) < desired:
        this.start_missing(desired - len(keep), desired + len(extra), release)
    return this.retire_extras(view, extra)
