"""The new replicas a rollout counts on, watched until it ends: each must keep running, healthy
and listed by Traefik, and Traefik's router must keep routing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from zerodrop.errors import PlatformUnavailable, ReplicaLost
from zerodrop.model import Replica
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits


@dataclass
class NewReplicas:
    """The watched new replicas, and since when Traefik has not listed each one."""

    platform: ServicePlatform
    gates: ReplicaWaits
    route_timeout: float
    replicas: list[Replica] = field(default_factory=list)
    unlisted_since: dict[str, float] = field(default_factory=dict)

    def check(self, *, tolerate_unavailable: bool = False) -> None:
        """ReplicaLost if a watched new replica stopped running or being healthy, or Traefik has not
        listed it for longer than the route timeout (a Traefik restart is shorter than that)."""
        try:
            routed = self.platform.routed_ips()
            if routed:  # servers listed but no working router: every request misses (404)
                self.gates.route_works()
            states = {r.id: self.platform.find(r.id) for r in self.replicas}
        except PlatformUnavailable:
            if tolerate_unavailable:
                return
            raise
        now = time.monotonic()
        for replica in self.replicas:
            state = states[replica.id]
            if state is None or not state.serving_state:
                what = "was removed" if state is None else f"is {state.status}, health {state.health}"
                if state is not None and state.health == "unhealthy":
                    what += self._last_failed_check(replica)
                raise ReplicaLost(f"new replica {replica.name} {what}")
            if replica.routed_in(routed):
                self.unlisted_since.pop(replica.id, None)
            elif now - self.unlisted_since.setdefault(replica.id, now) > self.route_timeout:
                raise ReplicaLost(
                    f"Traefik has not routed new replica {replica.name} for {self.route_timeout:.0f}s"
                )

    def _last_failed_check(self, replica: Replica) -> str:
        """The output of the replica's last failed healthcheck, as Docker recorded it, in
        parentheses: why it left (a timeout on a busy host reads differently from a real failure)."""
        try:
            lines = self.platform.diagnostics(replica.id)
        except PlatformUnavailable:
            return ""
        failed = [
            line
            for line in lines
            if line.startswith("health: exit ") and not line.startswith("health: exit 0:")
        ]
        if not failed:
            return ""
        code, _, output = failed[-1].removeprefix("health: ").partition(": ")
        last_line = (output.strip().splitlines() or [""])[-1]
        return f" (last failed check: {code}: {last_line})"
