"""Zero-downtime rolling replacement of a service's replicas, gated on Traefik's own view.

Per batch (one replica by default): start the new replica beside the old ones; wait until Docker
calls it healthy and Traefik lists it; drain an old one (it fails readiness but serves on) and
wait until Traefik no longer lists it; wait until it is idle; stop it with its full grace period;
remove it. No fixed sleeps: every step waits on an observed state, with a deadline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lab.docker_api import Replica
from lab.history import Release
from lab.platform import ServicePlatform
from lab.waits import WaitTimeout, wait_for

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_KEY_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DEFAULT_MAX_SURGE = 1
DEFAULT_HEALTH_TIMEOUT = 120.0
DEFAULT_ROUTE_TIMEOUT = 30.0


class RolloutInputError(ValueError):
    """The rollout cannot start as asked; nothing was changed."""


class RolloutFailed(RuntimeError):
    """The rollout stopped; what it started was removed and the old replicas serve."""


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
    if options.health_timeout <= 0 or options.route_timeout <= 0:
        raise RolloutInputError("timeouts must be positive")
    for key in options.target.env:
        if not ENV_KEY_PATTERN.match(key):
            raise RolloutInputError(f"--set {key}=...: variable names are upper-case letters, digits, _")


def plan_batches(old: list[Replica], max_surge: int) -> list[list[Replica]]:
    """The old replicas in replacement order (oldest first), `max_surge` at a time."""
    ordered = sorted(old, key=lambda r: r.number)
    return [ordered[i : i + max_surge] for i in range(0, len(ordered), max_surge)]


@dataclass
class PhaseRecord:
    """One timed step of the rollout, for the progress lines, the summary and the plot."""

    phase: str
    replica: str
    start: float
    end: float = 0.0
    ok: bool = True
    detail: str = ""

    @property
    def seconds(self) -> float:
        """How long the step took."""
        return self.end - self.start


@dataclass
class RolloutLog:
    """Progress lines as steps end, and every step as a JSON line (wall-clock times) for reports."""

    out: Callable[[str], None] = print
    jsonl: TextIO | None = None
    records: list[PhaseRecord] = field(default_factory=list)

    def note(self, message: str) -> None:
        """A progress line."""
        self.out(f"rollout: {message}")

    @contextmanager
    def phase(self, phase: str, replica: str, start: float | None = None) -> Iterator[PhaseRecord]:
        """Time a step (from `start` if given, else now) and report it when it ends."""
        record = PhaseRecord(phase, replica, time.time() if start is None else start)
        try:
            yield record
        except BaseException as error:
            record.ok = False
            record.detail = record.detail or str(error).splitlines()[0][:200]
            raise
        finally:
            record.end = time.time()
            self.records.append(record)
            status = "" if record.ok else f"  FAILED: {record.detail}"
            self.note(f"{phase:<14} {replica:<24} {record.seconds:6.1f}s{status}")
            if self.jsonl is not None:
                self.jsonl.write(json.dumps(asdict(record)) + "\n")
                self.jsonl.flush()


@dataclass(frozen=True)
class RolloutResult:
    """What a finished rollout replaced and how long it took."""

    replaced: list[tuple[str, str]]
    seconds: float
    records: list[PhaseRecord]


class Roller:
    """Carries one rollout out on a platform."""

    def __init__(self, platform: ServicePlatform, options: RolloutOptions, log: RolloutLog) -> None:
        self.platform = platform
        self.options = options
        self.log = log

    def _wait(self, check: Callable[[], Any], what: str, timeout: float, last: Callable[[], str]) -> Any:
        return wait_for(
            check, what=what, timeout=timeout, interval=self.options.poll_interval, last_seen=last
        )

    def _routed(self, replica: Replica) -> bool:
        return bool(self.platform.routed_ips().intersection(replica.ips))

    def wait_healthy(self, replica: Replica) -> Replica:
        """Wait until Docker reports the new replica healthy; fail at once if it exits."""
        seen: list[str] = ["not inspected yet"]

        def check() -> Replica | None:
            now = self.platform.find(replica.id)
            if now is None or now.status in {"exited", "dead"}:
                state = "removed" if now is None else f"{now.status}"
                raise RolloutFailed(f"new replica {replica.name} {state} before becoming healthy")
            seen[0] = f"{now.status}, health {now.health}"
            return now if now.health in {"healthy", "none"} else None

        found: Replica = self._wait(
            check, f"{replica.name} healthy", self.options.health_timeout, lambda: seen[0]
        )
        return found

    def wait_routed(self, replica: Replica) -> None:
        """Wait until Traefik's API lists the replica among the service's servers."""
        self._wait(
            lambda: self._routed(replica),
            f"Traefik to route {replica.name}",
            self.options.route_timeout,
            lambda: f"Traefik routes {sorted(self.platform.routed_ips())}, replica at {list(replica.ips)}",
        )

    def wait_unrouted(self, replica: Replica) -> None:
        """Wait until Traefik's API no longer lists the replica."""
        self._wait(
            lambda: not self._routed(replica),
            f"Traefik to stop routing {replica.name}",
            self.options.route_timeout,
            lambda: f"Traefik still routes {sorted(self.platform.routed_ips())}",
        )

    def wait_idle(self, replica: Replica) -> bool:
        """Wait until the replica serves nothing, at most its stop grace period; whether it did."""
        try:
            self._wait(
                lambda: self.platform.inflight(replica.id) == 0,
                f"{replica.name} idle",
                replica.stop_timeout,
                lambda: f"{self.platform.inflight(replica.id)} in flight",
            )
        except WaitTimeout:
            return False
        return True

    def drain_out(self, replicas: list[Replica], role: str) -> dict[str, float]:
        """Drain the replicas and wait until Traefik lists none of them; when each drain began."""
        began: dict[str, float] = {}
        for replica in replicas:
            began[replica.id] = time.time()
            self.platform.drain(replica.id)
        for replica in replicas:
            with self.log.phase("drain-to-out", f"{role} {replica.name}", began[replica.id]):
                self.wait_unrouted(replica)
        return began

    def finish_retirement(self, replica: Replica, role: str, drain_began: float) -> None:
        """For a replica Traefik no longer routes: wait until idle, stop it gracefully, remove it."""
        with self.log.phase("drain-to-idle", f"{role} {replica.name}", drain_began) as record:
            if not self.wait_idle(replica):
                record.detail = "still busy at the grace deadline; stopping anyway"
        with self.log.phase("stop", f"{role} {replica.name}") as record:
            code = self.platform.stop(replica.id, max(replica.stop_timeout, 10.0))
            record.detail = f"exit {code}"
        self.platform.remove(replica.id)

    def _undo(self, new: list[Replica], drained: list[Replica]) -> None:
        """Put drained old replicas back in rotation, then take every new replica away."""
        for old in drained:
            self.platform.undrain(old.id)
        for old in drained:
            with self.log.phase("back-in", f"old {old.name}"):
                self.wait_routed(old)
        for replica in new:
            current = self.platform.find(replica.id)
            if current is not None and current.health not in {"healthy", "none"}:
                self.log.note(f"diagnostics of {replica.name}:")
                for line in self.platform.diagnostics(replica.id):
                    self.log.note(f"  {line}")
            if current is not None and current.status == "running" and self._routed(current):
                began = self.drain_out([current], "new")
                self.finish_retirement(current, "new", began[current.id])
            else:
                with self.log.phase("remove", f"new {replica.name}"):
                    self.platform.remove(replica.id)

    def replace_batch(self, batch: list[Replica]) -> list[tuple[str, str]]:
        """Replace one batch of old replicas by as many new ones."""
        before = {r.id for r in self.platform.replicas()}
        target = self.options.target
        with self.log.phase("create", f"{len(batch)} x {target.version}"):
            self.platform.scale_up(target, len(before) + len(batch))
        new = [r for r in self.platform.replicas() if r.id not in before]
        drained: list[Replica] = []
        try:
            if len(new) != len(batch):
                raise RolloutFailed(f"expected {len(batch)} new replica(s), compose started {len(new)}")
            for replica in new:
                with self.log.phase("start-to-healthy", f"new {replica.name}", replica.created):
                    self.wait_healthy(replica)
            for replica in new:
                with self.log.phase("healthy-to-routed", f"new {replica.name}"):
                    self.wait_routed(replica)
            drained = list(batch)
            began = self.drain_out(batch, "old")
        except BaseException as error:
            self.log.note(f"failed: {str(error).splitlines()[0]}; undoing this batch")
            self._undo(new, drained)
            if isinstance(error, RolloutFailed | WaitTimeout):
                raise RolloutFailed(str(error)) from error
            raise
        for old in batch:
            self.finish_retirement(old, "old", began[old.id])
        return [(old.name, replica.name) for old, replica in zip(batch, new, strict=True)]

    def run(self) -> RolloutResult:
        """Replace every replica; RolloutFailed (old replicas serving) if a batch cannot finish."""
        started = time.time()
        old = self.platform.replicas()
        if not old:
            raise RolloutInputError("the service has no running replicas to replace")
        replaced: list[tuple[str, str]] = []
        for batch in plan_batches(old, self.options.max_surge):
            replaced += self.replace_batch(batch)
        final = self.platform.replicas()
        wrong = [r.name for r in final if r.version != self.options.target.version]
        if len(final) != len(old) or wrong:
            raise RolloutFailed(
                f"ended with {len(final)} replicas (wanted {len(old)}), not on target: {wrong}"
            )
        return RolloutResult(replaced, time.time() - started, list(self.log.records))


def summary_table(result: RolloutResult) -> str:
    """Per replaced pair: start→healthy, healthy→routed, drain→out of Traefik, drain→idle, stop."""

    def seconds(phase: str, replica: str) -> str:
        for record in result.records:
            if record.phase == phase and record.replica == replica:
                return f"{record.seconds:.1f}s"
        return "-"

    header = (
        f"{'old replica':<24} {'new replica':<24} {'start>healthy':>13} {'healthy>routed':>14} "
        f"{'drain>out':>10} {'drain>idle':>10} {'stop':>6}"
    )
    lines = [header]
    for old, new in result.replaced:
        lines.append(
            f"{old:<24} {new:<24} {seconds('start-to-healthy', 'new ' + new):>13} "
            f"{seconds('healthy-to-routed', 'new ' + new):>14} {seconds('drain-to-out', 'old ' + old):>10} "
            f"{seconds('drain-to-idle', 'old ' + old):>10} {seconds('stop', 'old ' + old):>6}"
        )
    lines.append(f"total {result.seconds:.1f}s, {len(result.replaced)} replica(s) replaced")
    return "\n".join(lines)


def open_log(path: Path | None) -> TextIO | None:
    """The JSON-lines file the rollout's phases go to (parent folders created)."""
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")
