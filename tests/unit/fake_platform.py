"""An in-memory ServicePlatform: replicas become healthy, routed, drained and idle after a few
polls, as they do for real, and every step is recorded so tests can check order and capacity.

Faults are scripted: `on(call, action)` runs `action` the first time a call whose text starts with
`call` is made ("drain app-1", "inflight app-2", "routed"), so a test can kill a replica, flake
Traefik's API or interrupt the rollout at exactly the moment it wants."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from zerodrop.errors import PlatformUnavailable
from zerodrop.model import EntrypointAnswer, Release, Replica, StreamsEnded
from zerodrop.rollout.deadlines import ServiceTiming


def never() -> bool:
    """The interrupt that was not requested."""
    return False


def locked(method: Callable[..., Any]) -> Callable[..., Any]:
    """One platform call at a time: retirements call in from their own threads, as on Docker."""

    @functools.wraps(method)
    def call(self: FakePlatform, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return call


@dataclass
class FakeReplica:
    replica: Replica
    polls_to_healthy: int = 2
    polls_to_unrouted: int = 2
    inflight: int = 1
    streams: int = 0  # open streams: end_streams says goodbye to them
    held_open: int = 0  # of them, streams the service does not end: in flight until the stop
    drained: bool = False
    crashed: bool = False
    never_healthy: bool = False
    stays_routed: bool = False
    never_idle: bool = False
    exit_code: int = 0
    breaks_router: bool = False  # its labels define the router differently: Traefik drops it
    ignores_undrain: bool = False  # SIGUSR2 has no effect (the app ignores it once a stop began)
    # A health flap seen only by calls from threads whose name starts with this (a retirement's).
    flap_seen_by: str | None = None


@dataclass
class FakePlatform:
    version: str = "v1"
    count: int = 2
    new_behaviour: dict[str, object] = field(default_factory=dict)
    replicas_by_id: dict[str, FakeReplica] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    routed_counts: list[int] = field(default_factory=list)
    ready_routed_counts: list[int] = field(default_factory=list)  # routed, healthy and not drained
    container_counts: list[int] = field(default_factory=list)  # the service's containers, each create
    built: list[str] = field(default_factory=list)
    next_number: int = 1
    stop_timeout: float = 30.0
    traefik_down_for: int = 0  # the next N calls to Traefik's API fail
    exec_fails: set[str] = field(default_factory=set)  # replica names whose in-container calls fail
    find_fails: set[str] = field(default_factory=set)  # replica names Docker cannot inspect now
    scale_up_fails_after_create: bool = False  # compose creates the containers, then errors
    says_inflight: bool = True  # False: a service with no in-flight endpoint (inflight is None)
    says_version: bool = True  # False: a service whose answers do not name their version
    has_streams: bool = False  # True: end_streams answers (the lab's app), else None
    reclaimable: bool = True  # False: the sigterm contract (an undrain would be a bug)
    triggers: list[tuple[str, Callable[[FakePlatform], object]]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.should_stop: Callable[[], bool] = never  # an interrupt sets it, as on the real platform
        for _ in range(self.count):
            self._add(self.version, healthy=True)

    def _add(self, version: str, healthy: bool = False, **behaviour: object) -> FakeReplica:
        n = self.next_number
        self.next_number += 1
        replica = Replica(
            id=f"id{n}",
            name=f"app-{n}",
            hostname=f"h{n}",
            image=f"app:{version}",
            version=version,
            status="running",
            health="healthy" if healthy else "starting",
            ips=(f"10.0.0.{n}",),
            number=n,
            stop_timeout=self.stop_timeout,
            created=None,
        )
        fake = FakeReplica(replica, **behaviour)  # type: ignore[arg-type]
        self.replicas_by_id[replica.id] = fake
        return fake

    # --- scripting faults ---
    def on(self, call: str, action: Callable[[FakePlatform], object]) -> FakePlatform:
        self.triggers.append((call, action))
        return self

    def _call(self, text: str) -> None:
        self.calls.append(text)
        for trigger in list(self.triggers):
            if text.startswith(trigger[0]):
                self.triggers.remove(trigger)
                trigger[1](self)

    def by_name(self, name: str) -> FakeReplica:
        return next(f for f in self.replicas_by_id.values() if f.replica.name == name)

    @locked
    def kill(self, *names: str) -> None:
        """SIGKILL: each container exits with 137 and leaves Traefik at once."""
        for name in names:
            self._kill(name)

    def _kill(self, name: str) -> None:
        fake = self.by_name(name)
        fake.replica = replace(fake.replica, status="exited")
        fake.exit_code = 137
        self.events.append(f"killed {name}")

    # --- ServicePlatform ---
    @locked
    def replicas(self, include_stopped: bool = False) -> list[Replica]:
        self._call("replicas")
        return [
            f.replica
            for f in self.replicas_by_id.values()
            if include_stopped or f.replica.status == "running"
        ]

    @locked
    def phase(self, replica_id: str) -> str:
        fake = self.replicas_by_id[replica_id]
        self._call(f"phase {fake.replica.name}")
        if fake.replica.status != "running":
            return "gone"
        return "draining" if fake.drained else ("ready" if fake.replica.health == "healthy" else "starting")

    @locked
    def find(self, replica_id: str) -> Replica | None:
        fake = self.replicas_by_id.get(replica_id)
        self._call(f"find {fake.replica.name if fake else replica_id}")
        if fake is not None and fake.replica.name in self.find_fails:
            raise PlatformUnavailable(f"inspecting {fake.replica.name}: connection refused")
        if fake is None:
            return None
        if fake.flap_seen_by and threading.current_thread().name.startswith(fake.flap_seen_by):
            fake.flap_seen_by = None
            return replace(fake.replica, health="unhealthy")
        r = fake.replica
        if fake.crashed:
            fake.replica = replace(r, status="exited")
        elif r.status == "running":
            if r.health == "starting" and not fake.never_healthy:
                fake.polls_to_healthy -= 1
                if fake.polls_to_healthy <= 0:
                    fake.replica = replace(r, health="healthy")
            elif r.health == "healthy" and fake.drained and not fake.stays_routed:
                fake.replica = replace(r, health="unhealthy")
            elif r.health == "unhealthy" and not fake.drained:
                fake.replica = replace(r, health="healthy")
        return fake.replica

    def _is_routed(self, fake: FakeReplica) -> bool:
        if fake.replica.status != "running" or fake.replica.health == "starting" or fake.crashed:
            return False
        if fake.drained and not fake.stays_routed:
            fake.polls_to_unrouted -= 1
            return fake.polls_to_unrouted > 0
        return True

    @locked
    def routed_ips(self) -> set[str]:
        self._call("routed")
        if self.traefik_down_for > 0:
            self.traefik_down_for -= 1
            raise PlatformUnavailable("asking Traefik's API: connection refused")
        routed = [f for f in self.replicas_by_id.values() if self._is_routed(f)]
        ips = {ip for f in routed for ip in f.replica.ips}
        self.routed_counts.append(len(ips))
        self.ready_routed_counts.append(
            sum(1 for f in routed if not f.drained and f.replica.health == "healthy")
        )
        return ips

    def _router_broken(self) -> bool:
        return any(
            f.breaks_router and f.replica.status == "running" and f.replica.health == "healthy"
            for f in self.replicas_by_id.values()
        )

    @locked
    def route_problem(self) -> str | None:
        self._call("route")
        return "Traefik has no router app@docker" if self._router_broken() else None

    answer_timeout: float = 5.0
    check_answers: int | None = None  # the status a service's check gets (e.g. 404 on a / it does not serve)

    @locked
    def entrypoint_answer(self) -> EntrypointAnswer:
        self._call("entrypoint")
        if self._router_broken():
            return EntrypointAnswer(404, "" if self.says_version else None, False)
        routed = [f for f in self.replicas_by_id.values() if self._is_routed(f)]
        status = self.check_answers or (200 if routed else 503)
        version = (routed[0].replica.version if routed else "") if self.says_version else None
        return EntrypointAnswer(status, version, status == 200)

    @locked
    def service_timing(self) -> ServiceTiming:
        """A service with a 1 s healthcheck and the replicas' stop grace, behind Traefik's default
        throttle (the deadlines derived from it are what a real one of that kind gets)."""
        return ServiceTiming(
            interval=1.0, timeout=1.0, retries=1, start_period=0.0, stop_grace=self.stop_timeout, throttle=0.5
        )

    def image_exists(self, release: Release) -> bool:
        return release.version in self.built or release.version == self.version

    @locked
    def build(self, release: Release) -> None:
        self.built.append(release.version)

    @locked
    def scale_up(self, release: Release, total: int) -> None:
        """As compose does: stopped containers of the service count toward the total."""
        self._call("scale_up")
        while len(self.replicas(include_stopped=True)) < total:
            fake = self._add(release.version, **self.new_behaviour)  # type: ignore[arg-type]
            self.events.append(f"create {fake.replica.name}")
        self.container_counts.append(len(self.replicas_by_id))
        if self.scale_up_fails_after_create:
            self.scale_up_fails_after_create = False
            raise PlatformUnavailable("starting the new replicas: connection reset by peer")

    @locked
    def drain(self, replica_id: str) -> None:
        fake = self.replicas_by_id[replica_id]
        self._call(f"drain {fake.replica.name}")
        if fake.replica.status != "running":
            return
        fake.drained = True
        self.events.append(f"drain {fake.replica.name}")

    @locked
    def undrain(self, replica_id: str) -> None:
        fake = self.replicas_by_id[replica_id]
        self._call(f"undrain {fake.replica.name}")
        assert self.reclaimable, "undrain under a contract whose drain cannot be taken back"
        if fake.ignores_undrain:
            self.events.append(f"undrain ignored {fake.replica.name}")
            return
        fake.drained = False
        fake.polls_to_unrouted = 2
        if fake.replica.status == "running" and fake.replica.health == "unhealthy":
            fake.replica = replace(fake.replica, health="healthy")  # the next healthcheck passes
        self.events.append(f"undrain {fake.replica.name}")

    @locked
    def inflight(self, replica_id: str, wait: float = 0.0) -> int | None:
        fake = self.replicas_by_id[replica_id]
        self._call(f"inflight {fake.replica.name}")
        if not self.says_inflight:
            return None
        if fake.replica.name in self.exec_fails:
            raise PlatformUnavailable(f"/stats failed in {fake.replica.name}: exec error")
        if fake.replica.status != "running":
            return 0
        if not fake.never_idle:
            fake.inflight = max(0, fake.inflight - 1)
        return fake.inflight

    @locked
    def end_streams(self, replica_id: str, wait: float) -> StreamsEnded | None:
        fake = self.replicas_by_id[replica_id]
        self._call(f"end_streams {fake.replica.name}")
        if not self.has_streams:
            return None
        assert not self._is_routed(fake), "streams ended while Traefik still routes the replica"
        ended = StreamsEnded(fake.streams - fake.held_open, fake.held_open)
        self.events.append(f"end_streams {fake.replica.name}")
        if fake.held_open:
            fake.inflight, fake.never_idle = max(fake.inflight, fake.held_open), True
        fake.streams = fake.held_open
        return ended

    @locked
    def stop(self, replica_id: str, timeout: float) -> int | None:
        fake = self.replicas_by_id[replica_id]
        self._call(f"stop {fake.replica.name}")
        assert timeout >= fake.replica.stop_timeout, "stop must allow the full grace period"
        if fake.replica.status == "running":
            assert not self._is_routed(fake) or fake.stays_routed, "stopped while still routed"
            fake.replica = replace(fake.replica, status="exited")
        self.events.append(f"stop {fake.replica.name}")
        return fake.exit_code

    @locked
    def remove(self, replica_id: str) -> None:
        fake = self.replicas_by_id.pop(replica_id)
        self._call(f"remove {fake.replica.name}")
        self.events.append(f"remove {fake.replica.name}")

    @locked
    def diagnostics(self, replica_id: str) -> list[str]:
        return ["health: exit 1: not ready"]

    # --- what tests assert on ---
    def serving(self) -> list[Replica]:
        """Running, healthy, undrained replicas: what Traefik routes once it has caught up."""
        return [
            f.replica
            for f in self.replicas_by_id.values()
            if f.replica.status == "running" and f.replica.health == "healthy" and not f.drained
        ]
