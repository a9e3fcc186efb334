"""An in-memory ServicePlatform: replicas become healthy, routed, drained and idle after a few
polls, as they do for real, and every step is recorded so tests can check order and capacity."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lab.docker_api import Replica
from lab.history import Release


@dataclass
class FakeReplica:
    replica: Replica
    polls_to_healthy: int = 2
    polls_to_unrouted: int = 2
    inflight: int = 1
    drained: bool = False
    crashed: bool = False
    never_healthy: bool = False
    stays_routed: bool = False
    stopped: bool = False


@dataclass
class FakePlatform:
    version: str = "v1"
    count: int = 2
    new_behaviour: dict[str, object] = field(default_factory=dict)
    replicas_by_id: dict[str, FakeReplica] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    routed_counts: list[int] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    next_number: int = 1

    def __post_init__(self) -> None:
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
            stop_timeout=30.0,
            created=None,
        )
        fake = FakeReplica(replica, **behaviour)  # type: ignore[arg-type]
        self.replicas_by_id[replica.id] = fake
        return fake

    # --- ServicePlatform ---
    def replicas(self) -> list[Replica]:
        return [f.replica for f in self.replicas_by_id.values() if f.replica.status == "running"]

    def find(self, replica_id: str) -> Replica | None:
        fake = self.replicas_by_id.get(replica_id)
        if fake is None:
            return None
        r = fake.replica
        if fake.crashed:
            fake.replica = replace(r, status="exited")
        elif r.health == "starting" and not fake.never_healthy:
            fake.polls_to_healthy -= 1
            if fake.polls_to_healthy <= 0:
                fake.replica = replace(r, health="healthy")
        return fake.replica

    def _is_routed(self, fake: FakeReplica) -> bool:
        if fake.replica.status != "running" or fake.replica.health != "healthy":
            return False
        if fake.drained and not fake.stays_routed:
            fake.polls_to_unrouted -= 1
            return fake.polls_to_unrouted > 0
        return True

    def routed_ips(self) -> set[str]:
        ips = {ip for f in self.replicas_by_id.values() if self._is_routed(f) for ip in f.replica.ips}
        self.routed_counts.append(len(ips))
        return ips

    def image_exists(self, release: Release) -> bool:
        return release.version in self.built or release.version == self.version

    def build(self, release: Release) -> None:
        self.built.append(release.version)

    def scale_up(self, release: Release, total: int) -> None:
        while len(self.replicas()) < total:
            fake = self._add(release.version, **self.new_behaviour)  # type: ignore[arg-type]
            self.events.append(f"create {fake.replica.name}")

    def drain(self, replica_id: str) -> None:
        self.replicas_by_id[replica_id].drained = True
        self.events.append(f"drain {self.replicas_by_id[replica_id].replica.name}")

    def undrain(self, replica_id: str) -> None:
        fake = self.replicas_by_id[replica_id]
        fake.drained = False
        fake.polls_to_unrouted = 2
        self.events.append(f"undrain {fake.replica.name}")

    def inflight(self, replica_id: str) -> int:
        fake = self.replicas_by_id[replica_id]
        fake.inflight = max(0, fake.inflight - 1)
        return fake.inflight

    def stop(self, replica_id: str, timeout: float) -> int | None:
        fake = self.replicas_by_id[replica_id]
        assert timeout >= fake.replica.stop_timeout, "stop must allow the full grace period"
        assert not self._is_routed(fake) or fake.stays_routed, "stopped while still routed"
        fake.replica = replace(fake.replica, status="exited")
        self.events.append(f"stop {fake.replica.name}")
        return 0

    def remove(self, replica_id: str) -> None:
        fake = self.replicas_by_id.pop(replica_id)
        self.events.append(f"remove {fake.replica.name}")

    def diagnostics(self, replica_id: str) -> list[str]:
        return ["health: exit 1: not ready"]
