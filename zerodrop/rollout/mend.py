"""Mend: before a rollout (or as `recover`, the command), finding what a rollout that is gone left
behind and, if anything, recovering from it (undo takes back a batch of the rollout under way;
recover is the procedure mend runs).

Say each finding, then bring the service back to its replica count of ready, routed replicas.
The next rollout does it first; `recover` does only that, as a command of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from zerodrop.errors import EXIT_CUT, EXIT_FAILED, EXIT_OK
from zerodrop.model import Release
from zerodrop.rollout.deadlines import Timeouts, check_timeouts, resolve_deadlines
from zerodrop.rollout.history import current_release
from zerodrop.rollout.leftovers import ServiceView, findings, look, needs_recovery, state_lines
from zerodrop.rollout.lock import LockState, lock_state, rollout_lock
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.platform import RolloutPlatform, ServicePlatform
from zerodrop.rollout.recover import recover
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.retirement import CutWork
from zerodrop.target import ComposeTarget


@dataclass
class Mended:
    """What mending found, whether it had to act, and the work it had to cut."""

    found: list[str]
    acted: bool = False
    cut: list[CutWork] = field(default_factory=list)


@dataclass
class Recovered(Mended):
    """A `recover` command's outcome: also what serves afterwards, and what is still wrong."""

    now: list[str] = field(default_factory=list)
    still: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What serves now, what is still wrong, or that there was nothing to mend."""
        done = [*self.now, *(f"still: {line}" for line in self.still)]
        return done if self.found else [*done, "nothing to mend"]

    def exit_code(self) -> int:
        """0 whole, 3 work was cut, 1 still wrong (mixed versions alone are left to a rollout)."""
        if self.cut:
            return EXIT_CUT
        return EXIT_FAILED if any(not line.startswith("mixed") for line in self.still) else EXIT_OK


def deployed_release(target: ComposeTarget, platform: ServicePlatform) -> Release:
    """What should run when no rollout is under way: the last completed rollout's target, else the
    version most running replicas have."""
    deployed = current_release(target.state_dir, target.project)
    if deployed is not None:
        return deployed
    versions = [r.version for r in platform.replicas()]
    return Release(max(set(versions), key=versions.count) if versions else "v1")


def desired_replicas(target: ComposeTarget, lock: LockState) -> int:
    """How many replicas the service is meant to have: what the rollout a stale lock marks
    started from (a service scaled with `up --scale` has no count of its own to read, and the
    killed rollout's extra replica must not count), else the target's."""
    return lock.replicas if lock.stale and lock.replicas else target.replicas


def mend(
    platform: ServicePlatform,
    target: ComposeTarget,
    timeouts: Timeouts,
    log: RolloutLog,
    *,
    lock: LockState,
    view: ServiceView,
    always: bool = False,
) -> Mended:
    """Say what an earlier rollout left behind, one `found:` line each, and recover when that is
    needed (`always`: recover in any case, which does nothing to a service that is whole)."""
    desired = desired_replicas(target, lock)
    found = findings(view, desired, lock)
    for line in found:
        log.note(f"found: {line}")
    if not always and not needs_recovery(view, desired, lock):
        return Mended(found)
    log.note(f"recovering to {desired} ready replica(s) first" if not always else "recovering")
    cut = recover(
        platform,
        ReplicaWaits(platform),
        log,
        desired,
        deployed_release(target, platform),
        health_timeout=timeouts.health,
        route_timeout=timeouts.route,
    )
    return Mended(found, True, cut)


def execute_recover(
    platform: RolloutPlatform,
    target: ComposeTarget,
    *,
    health: float | None = None,
    route: float | None = None,
    out: Callable[[str], None] = print,
) -> Recovered:
    """Bring the service back to its replica count of ready, routed replicas after a killed
    rollout, under the rollout lock; what was found, done, and is still wrong afterwards."""
    check_timeouts(health, route)
    with rollout_lock(target.state_dir, target.project, "recover") as lock:
        log = RolloutLog(out=out, prefix="recover")
        view = look(platform)
        timeouts = resolve_deadlines(platform, log, health=health, route=route, derive=bool(view.running))
        mended = mend(platform, target, timeouts, log, lock=lock, view=view, always=True)
        after = look(platform)
    still = findings(after, desired_replicas(target, lock), lock_state(target.state_dir, target.project))
    return Recovered(mended.found, mended.acted, mended.cut, state_lines(after), still)
