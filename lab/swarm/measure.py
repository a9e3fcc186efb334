"""Swarm's native rolling update measured under the probe, per variant, each on a private stack:
the app draining only on SIGTERM (broken), a lame-duck window sized to Traefik's poll (fixed),
and a shorter poll with a shorter window; and an update that never gets healthy, rolled back by
Swarm's own failure_action. Used by `make bench-swarm` and the Swarm lab tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker

from lab.compose_lab import free_loopback_port
from lab.swarm.config import SwarmConfig
from lab.swarm.stack import stack_remove, swarm_up
from lab.swarm.update import SwarmUpdate, swarm_update
from lab.under_load import ProbeTally, default_probe_options, measure_under_load
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import tally_line
from zerodrop.measure.report import latency_line

BROKEN, FIXED, FAST_POLL = "broken", "fixed", "fast-poll"
NEVER_HEALTHY = {"STARTUP_DELAY": "600"}  # /healthz answers 503 for 10 minutes: never ready


@dataclass(frozen=True)
class Variant:
    """A way to run the app under Traefik's swarm provider: its poll and the app's lame duck
    (None: derived from the poll, see lab.config.swarm_lame_duck)."""

    name: str
    refresh_seconds: int
    drain_seconds: float | None
    what: str


VARIANTS = (
    Variant(BROKEN, 15, 0, "Traefik's default 15 s poll; the app drains only on SIGTERM"),
    Variant(FIXED, 15, None, "15 s poll; lame duck = poll + throttle + a healthcheck round"),
    Variant(FAST_POLL, 2, None, "2 s poll; the same rule gives a 6 s lame duck"),
)


def variant_named(name: str) -> Variant:
    """The variant of that name."""
    return next(v for v in VARIANTS if v.name == name)


@dataclass
class SwarmMeasurement(ProbeTally):
    """The probe's records around one Swarm update, and how the update went."""

    label: str
    cfg: SwarmConfig
    probe: ProbeResult
    update: SwarmUpdate | None
    error: str | None

    @property
    def outage_seconds(self) -> float:
        """From the first failed request's start to the last one's end (0 without failures)."""
        return self.probe.outage_seconds

    def failure_kinds(self) -> dict[str, int]:
        """Failed requests by request kind and error."""
        return self.probe.failure_kinds()

    def lines(self) -> list[str]:
        """What a person reads: settings, the update, the probe's tally, failures, latency."""
        kinds = ", ".join(f"{k} {n}" for k, n in self.failure_kinds().items()) or "none"
        update = self.update.line() if self.update else f"update failed: {self.error}"
        return [
            f"swarm {self.label}: refreshSeconds {self.cfg.refresh_seconds}, lame duck "
            f"{self.cfg.drain_seconds:g}s, stop grace {self.cfg.stop_grace_seconds}s",
            f"  {update}",
            f"  probe: {tally_line(self.probe.records)}",
            f"  failed {self.failed}/{self.total} by kind: {kinds}; outage {self.outage_seconds:.1f}s",
            f"  latency: {latency_line(self.probe.records)}",
        ]

    def to_json(self) -> dict[str, Any]:
        """The figures, for the bench's JSON."""
        update = self.update
        return {
            "label": self.label,
            "refresh_seconds": self.cfg.refresh_seconds,
            "drain_seconds": self.cfg.drain_seconds,
            "stop_grace_seconds": self.cfg.stop_grace_seconds,
            "failed": self.failed,
            "total": self.total,
            "failure_kinds": self.failure_kinds(),
            "outage_seconds": round(self.outage_seconds, 2),
            "update_state": update.state if update else None,
            "update_seconds": round(update.update_seconds, 2) if update else None,
            "settled_seconds": round(update.settled_seconds, 2) if update else None,
            "final_version": update.final_version if update else None,
            "error": self.error,
        }


@contextmanager
def private_swarm_stack(
    client: docker.DockerClient, base: SwarmConfig, variant: Variant, prefix: str = "zdswarm-"
) -> Iterator[SwarmConfig]:
    """A v1 stack of the variant beside anything else, named `<prefix><random>` on free ports,
    routed before it is handed over; always removed, its tasks killed (the measurement is over: a
    graceful stop would only spend each task's lame duck). Swarm mode must be on."""
    cfg = base.with_refresh(variant.refresh_seconds, variant.drain_seconds).with_overrides(
        stack=f"{prefix}{uuid.uuid4().hex[:6]}",
        http_port=free_loopback_port(),
        api_port=free_loopback_port(),
    )
    try:
        swarm_up(client, cfg, "v1")
        yield cfg
    finally:
        stack_remove(client, cfg, timeout=cfg.stop_grace_seconds + 90, kill=True)


def measure_update(
    client: docker.DockerClient,
    cfg: SwarmConfig,
    *,
    label: str,
    version: str,
    extra_env: dict[str, str] | None = None,
    out: Callable[[str], None] = print,
) -> SwarmMeasurement:
    """Swarm's update of the stack to `version` under the probe (4 long requests, 20 short/s,
    10 writes/s through Traefik's port on 127.0.0.1), from baseline until it has settled."""
    measured = measure_under_load(
        lambda: swarm_update(client, cfg, version, extra_env),
        default_probe_options(cfg),
        out=out,
        expected_errors=(TimeoutError,),
    )
    error = None if measured.error is None else str(measured.error)
    return SwarmMeasurement(label, cfg, measured.probe, measured.value, error)


def measure_variant(
    client: docker.DockerClient, base: SwarmConfig, variant: Variant, out: Callable[[str], None] = print
) -> SwarmMeasurement:
    """v1 -> v2 by Swarm's rolling update on a fresh stack of the variant, under the probe."""
    with private_swarm_stack(client, base, variant) as cfg:
        return measure_update(client, cfg, label=variant.name, version="v2", out=out)


def measure_rollback(
    client: docker.DockerClient, base: SwarmConfig, out: Callable[[str], None] = print
) -> SwarmMeasurement:
    """v1 -> a v3 that never gets healthy, on a fresh fast-poll stack, under the probe: Swarm's
    failure_action must roll it back with the old tasks serving throughout."""
    with private_swarm_stack(client, base, variant_named(FAST_POLL)) as cfg:
        return measure_update(
            client, cfg, label="never-healthy v3", version="v3", extra_env=NEVER_HEALTHY, out=out
        )
