"""Zero-downtime rolling replacement of a service's replicas, gated on Traefik's own view.

Per batch (one replica by default): start the new replicas beside the old ones; wait until Docker
calls them healthy and Traefik lists them; check once more that they serve; drain the old ones
(they fail readiness but serve on) and wait until Traefik no longer lists them; wait until each is
idle; stop it with its full grace period; remove it. While old replicas drain, the new ones are
watched: if one stops serving, the drained old replicas go back in rotation first.

The invariant: Traefik never routes fewer ready replicas than when the rollout began. Any failure,
exception or interrupt runs the same undo, which restores it, and the rollout then says what
serves now, as Docker and Traefik report it.
"""

from __future__ import annotations

import math
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from lab.gates import Gates, ReplicaLost
from lab.model import LabInputError, PhaseRecord, PlatformUnavailable, Release, Replica, ServicePlatform
from lab.phaselog import RolloutLog
from lab.waits import WaitTimeout

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_KEY_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DEFAULT_MAX_SURGE = 1
DEFAULT_HEALTH_TIMEOUT = 120.0
DEFAULT_ROUTE_TIMEOUT = 30.0
MAX_TIMEOUT = 24 * 3600.0


class RolloutInputError(LabInputError):
    """The rollout cannot start as asked; nothing was changed."""


class RolloutStopped(RuntimeError):
    """The rollout stopped before the end and undid its current batch. `left_behind`: what the
    undo could not do; `now`: what serves afterwards, as Docker and Traefik report it."""

    def __init__(self, message: str, left_behind: list[str] | None = None) -> None:
        super().__init__(message)
        self.left_behind = left_behind or []
        self.now: list[str] = []


class RolloutFailed(RolloutStopped):
    """A step failed or ran out of time (exit status 1)."""


class RolloutInterrupted(RolloutStopped):
    """A signal stopped the rollout (exit status 128 + the signal's number)."""

    def __init__(self, signum: int, left_behind: list[str] | None = None) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}", left_behind)
        self.signum = signum


@dataclass
class Interrupt:
    """Set from a signal handler; the rollout notices it at its next poll or step."""

    signum: int | None = None

    def request(self, signum: int) -> bool:
        """Record the first signal; whether this one was the first."""
        first = self.signum is None
        if first:
            self.signum = signum
        return first


@dataclass(frozen=True)
class RolloutOptions:
    """How to roll: to which release, how many at a time, and how long to wait for what."""

    target: Release
    max_surge: int = DEFAULT_MAX_SURGE
    health_timeout: float = DEFAULT_HEALTH_TIMEOUT
    route_timeout: float = DEFAULT_ROUTE_TIMEOUT
    poll_interval: float = 0.25
    build: bool = True


def validate_options(options: RolloutOptions) -> None:
    """RolloutInputError for a version, batch size, timeout or variable the rollout cannot use."""
    if not VERSION_PATTERN.match(options.target.version):
        raise RolloutInputError(f"version {options.target.version!r} is not a valid image tag")
    if options.max_surge < 1:
        raise RolloutInputError(f"--max-surge must be at least 1, not {options.max_surge}")
    for name, value in (("--timeout", options.health_timeout), ("--route-timeout", options.route_timeout)):
        if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
            raise RolloutInputError(
                f"{name} must be a positive number of seconds up to {MAX_TIMEOUT:.0f}, not {value}"
            )
    for key in options.target.env:
        if not ENV_KEY_PATTERN.match(key):
            raise RolloutInputError(f"--set {key}=...: variable names are upper-case letters, digits, _")


def plan_batches(old: list[Replica], max_surge: int) -> list[list[Replica]]:
    """The old replicas in replacement order (oldest first), `max_surge` at a time."""
    ordered = sorted(old, key=lambda r: r.number)
    return [ordered[i : i + max_surge] for i in range(0, len(ordered), max_surge)]


@dataclass(frozen=True)
class CutWork:
    """An old replica stopped while it still had work: requests in flight, or an unclean exit."""

    replica: str
    inflight: int  # at the grace deadline; -1 when it could not be read
    exit_code: int | None

    def line(self) -> str:
        """'app-1: 2 request(s) in flight at the grace deadline, exit 137 (SIGKILL)'."""
        count = "an unknown number of" if self.inflight < 0 else str(self.inflight)
        parts = [f"{count} request(s) in flight at the grace deadline"] if self.inflight else []
        if self.exit_code not in (0, None):
            killed = " (SIGKILL: its shutdown work was cut)" if self.exit_code == 137 else ""
            parts.append(f"exit {self.exit_code}{killed}")
        return f"{self.replica}: {', '.join(parts)}"


def retire(
    platform: ServicePlatform,
    gates: Gates,
    log: RolloutLog,
    replica: Replica,
    *,
    label: str,
    drain_began: float,
    call_timeout: float,
) -> CutWork | None:
    """For a replica Traefik no longer routes: wait until idle (at most its grace period), stop it
    with that grace, remove it. Work still in flight at the deadline, or an unclean exit, is
    returned (and printed) as cut work."""
    with log.phase("drain-to-idle", label, drain_began) as record:
        left = gates.idle(replica, replica.stop_timeout)
        if left:
            record.detail = f"{'?' if left < 0 else left} in flight at the grace deadline; stopping anyway"
    with log.phase("stop", label) as record:
        grace = max(replica.stop_timeout, 10.0)
        code = gates.call(
            lambda: platform.stop(replica.id, grace), f"stopping {replica.name}", grace + call_timeout
        )
        record.detail = f"exit {code}"
    cut = CutWork(replica.name, left, code) if left or code not in (0, None) else None
    if cut is not None:
        log.note(f"CUT WORK: {cut.line()}")
    gates.call(lambda: platform.remove(replica.id), f"removing {replica.name}", call_timeout)
    return cut


@dataclass(frozen=True)
class RolloutResult:
    """What a finished rollout replaced, how long it took, and what it had to cut."""

    replaced: list[tuple[str, str]]
    seconds: float
    records: list[PhaseRecord]
    cut: list[CutWork] = field(default_factory=list)
    started_with: int = 0
    fewest_routed: int | None = None


@dataclass
class Batch:
    """One batch in progress: the old replicas it replaces and how far it got."""

    old: list[Replica]
    new: list[Replica] = field(default_factory=list)
    drained: list[Replica] = field(default_factory=list)


class RolloutEngine:
    """Carries one rollout out on a platform."""

    def __init__(
        self,
        platform: ServicePlatform,
        options: RolloutOptions,
        log: RolloutLog,
        interrupt: Interrupt | None = None,
    ) -> None:
        self.platform = platform
        self.options = options
        self.log = log
        self.interrupt = interrupt or Interrupt()
        self.gates = Gates(platform, options.poll_interval, guard=self._guard)
        self.undo_gates = Gates(platform, options.poll_interval)  # no guard: an undo runs to its end
        self.watched: list[Replica] = []
        self.unlisted_since: dict[str, float] = {}
        self.cut: list[CutWork] = []

    # --- watching what must keep serving ---------------------------------------------------------

    def _guard(self) -> None:
        """Before every poll: stop on an interrupt, or on a new replica that no longer serves."""
        if self.interrupt.signum is not None:
            raise RolloutInterrupted(self.interrupt.signum)
        if self.watched:
            self.check_new_serving(tolerate_unavailable=True)

    def check_new_serving(self, *, tolerate_unavailable: bool = False) -> None:
        """ReplicaLost if a watched new replica stopped running or being healthy, or Traefik has not
        listed it for longer than the route timeout (a Traefik restart is shorter than that)."""
        try:
            routed = self.platform.routed_ips()
            states = {r.id: self.platform.find(r.id) for r in self.watched}
        except PlatformUnavailable:
            if tolerate_unavailable:
                return
            raise
        now = time.monotonic()
        for replica in self.watched:
            state = states[replica.id]
            if state is None or not state.serving_state:
                what = "was removed" if state is None else f"is {state.status}, health {state.health}"
                raise ReplicaLost(f"new replica {replica.name} {what}")
            if routed.intersection(replica.ips):
                self.unlisted_since.pop(replica.id, None)
            elif now - self.unlisted_since.setdefault(replica.id, now) > self.options.route_timeout:
                raise ReplicaLost(
                    f"Traefik has not routed new replica {replica.name} for {self.options.route_timeout:.0f}s"
                )

    # --- one batch ----------------------------------------------------------------------------------

    def replace_batch(self, batch: Batch) -> None:
        """Start, gate, drain and retire: the steps of one batch, in order."""
        self._guard()
        batch.new = self._create(batch)
        for replica in batch.new:
            with self.log.phase("start-to-healthy", f"new {replica.name}", replica.created):
                self.gates.healthy(replica, self.options.health_timeout)
        for replica in batch.new:
            with self.log.phase("healthy-to-routed", f"new {replica.name}"):
                self.gates.routed(replica, self.options.route_timeout)
        self.watched = list(batch.new)
        self.check_new_serving()  # once more, right before the old ones leave rotation
        began = self._drain(batch)
        for old in batch.old:
            with self.log.phase("drain-to-out", f"old {old.name}", began[old.id]):
                self.gates.unrouted(old, self.options.route_timeout)
        for old in batch.old:
            self.retire(old, "old", began[old.id], self.gates)
        self.watched = []

    def _create(self, batch: Batch) -> list[Replica]:
        before = {r.id for r in self.platform.replicas(include_stopped=True)}
        target = self.options.target
        with self.log.phase("create", f"{len(batch.old)} x {target.version}"):
            self.platform.scale_up(target, len(self.platform.replicas()) + len(batch.old))
            new = [r for r in self.platform.replicas(include_stopped=True) if r.id not in before]
            batch.new = new
            if len(new) != len(batch.old):
                raise RolloutFailed(f"expected {len(batch.old)} new replica(s), compose started {len(new)}")
        return new

    def _drain(self, batch: Batch) -> dict[str, float]:
        began: dict[str, float] = {}
        for old in batch.old:
            began[old.id] = time.time()
            batch.drained.append(old)
            self.gates.call(
                partial(self.platform.drain, old.id), f"draining {old.name}", self.options.route_timeout
            )
        return began

    def retire(self, replica: Replica, role: str, drain_began: float, gates: Gates) -> None:
        """Retire a replica Traefik no longer routes, and keep account of any work it cut."""
        cut = retire(
            self.platform,
            gates,
            self.log,
            replica,
            label=f"{role} {replica.name}",
            drain_began=drain_began,
            call_timeout=self.options.route_timeout,
        )
        if cut is not None:
            self.cut.append(cut)

    # --- the one undo ---------------------------------------------------------------------------------

    def undo(self, batch: Batch) -> list[str]:
        """Put the batch's drained old replicas back in rotation first, then take away the new
        replicas that are not needed to stand in for old ones that are gone. Never raises: what it
        cannot do is returned as lines saying what was left behind and why."""
        self.watched = []
        problems: list[str] = []

        def attempt(what: str, action: Callable[[], object]) -> bool:
            try:
                action()
            except Exception as error:
                problems.append(f"{what}: {(str(error).splitlines() or [type(error).__name__])[0][:200]}")
                return False
            return True

        back: list[Replica] = []
        for old in batch.old:
            state = self._find(old)
            if state is None or state.status != "running":
                if state is not None:
                    attempt(f"removing stopped old {old.name}", partial(self.platform.remove, old.id))
                continue
            undrain = partial(
                self.undo_gates.call,
                partial(self.platform.undrain, old.id),
                f"undraining {old.name}",
                self.options.route_timeout,
            )
            if old in batch.drained and not attempt(f"undraining old {old.name}", undrain):
                continue
            back.append(old)
        for old in back:
            with self.log.phase("back-in", f"old {old.name}"):
                attempt(
                    f"old {old.name} back in rotation",
                    partial(self.undo_gates.routed, old, self.options.route_timeout),
                )
        needed = len(batch.old) - len(back)
        for replica in batch.new:
            state = self._find(replica)
            serving = state is not None and state.serving_state
            if serving and needed > 0:
                needed -= 1
                self.log.note(f"keeping new {replica.name}: it stands in for an old replica that is gone")
                continue
            if state is None or state.status != "running" or state.health == "unhealthy":
                self.log.note(f"diagnostics of {replica.name}:")
                for line in self._diagnostics(replica):
                    self.log.note(f"  {line}")
            attempt(f"taking new {replica.name} away", partial(self._take_away, replica, serving))
        if needed > 0:
            problems.append(f"{needed} replica(s) fewer than before the batch: run `python -m lab recover`")
        return problems

    def _take_away(self, replica: Replica, serving: bool) -> None:
        if serving and self.undo_gates.is_routed(replica):
            began = time.time()
            self.undo_gates.call(
                lambda: self.platform.drain(replica.id),
                f"draining {replica.name}",
                self.options.route_timeout,
            )
            with self.log.phase("drain-to-out", f"new {replica.name}", began):
                self.undo_gates.unrouted(replica, self.options.route_timeout)
            self.retire(replica, "new", began, self.undo_gates)
        else:
            with self.log.phase("remove", f"new {replica.name}"):
                self.undo_gates.call(
                    lambda: self.platform.remove(replica.id),
                    f"removing {replica.name}",
                    self.options.route_timeout,
                )

    def _find(self, replica: Replica) -> Replica | None:
        return self.undo_gates.call(
            lambda: self.platform.find(replica.id), f"inspecting {replica.name}", self.options.route_timeout
        )

    def _diagnostics(self, replica: Replica) -> list[str]:
        try:
            return self.platform.diagnostics(replica.id)
        except Exception as error:
            return [f"(no diagnostics: {error})"]

    # --- the whole rollout --------------------------------------------------------------------------

    def run(self) -> RolloutResult:
        """Replace every replica. RolloutFailed or RolloutInterrupted after the current batch was
        undone; the batches before it stay replaced."""
        started = time.time()
        old = self.platform.replicas()
        if not old:
            raise RolloutInputError("the service has no running replicas to replace")
        replaced: list[tuple[str, str]] = []
        for planned in plan_batches(old, self.options.max_surge):
            batch = Batch(planned)
            try:
                self.replace_batch(batch)
            except BaseException as error:
                self._fail(batch, error)
            replaced += [(o.name, n.name) for o, n in zip(batch.old, batch.new, strict=True)]
        final = self.platform.replicas()
        wrong = [r.name for r in final if r.version != self.options.target.version]
        if len(final) != len(old) or wrong:
            raise RolloutFailed(
                f"ended with {len(final)} replicas (wanted {len(old)}), not on target: {wrong}"
            )
        return RolloutResult(
            replaced,
            time.time() - started,
            list(self.log.records),
            list(self.cut),
            len(old),
            self.gates.fewest_routed,
        )

    def _fail(self, batch: Batch, error: BaseException) -> None:
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        self.log.note(f"stopping: {reason}; undoing this batch")
        problems = self.undo(batch)
        for line in problems:
            self.log.note(f"left behind: {line}")
        if isinstance(error, RolloutInterrupted):
            raise RolloutInterrupted(error.signum, problems) from None
        if isinstance(error, RolloutFailed | WaitTimeout | ReplicaLost | PlatformUnavailable):
            raise RolloutFailed(reason, problems) from error
        if isinstance(error, Exception):
            raise RolloutFailed(f"{type(error).__name__}: {reason}", problems) from error
        raise error
