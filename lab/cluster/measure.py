"""The cluster under the probe: Swarm's rolling update across nodes (broken and fixed), and node
faults at rest and in the middle of an update, each with its failures by kind and the window they
fell in, measured from the fault. Used by `make bench-cluster`, workshop page 10 and the tests."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker

from lab.cluster.config import ClusterConfig
from lab.cluster.faults import NodeFault, cause, heal, wait_back, wait_node_down, wait_replaced
from lab.cluster.stack import manager_client
from lab.swarm import engine
from lab.swarm.routing import current_version, tasks
from lab.swarm.stack import stack_deploy
from lab.swarm.update import UPDATE_DONE, SwarmUpdate, swarm_update
from lab.under_load import ProbeTally, default_probe_options, measure_under_load
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import tally_line
from zerodrop.measure.report import latency_line
from zerodrop.waits import wait_for

# How long after a node fault a request may still fail: Traefik's health check on the service
# (interval 1 s + timeout 1 s) takes the lost task out, plus its 0.5 s throttle and margin. A
# request in flight on the node at the fault fails too (at the client's timeout), whenever it began.
# The same window opens again when Traefik first lists the replacement: a reload marks every
# server it lists UP until its health check first runs, one interval later (traefik#13223).
FAULT_WINDOW_SECONDS = 5.0
BROKEN_REFRESH_SECONDS = 15  # Traefik's default poll: the broken variant is what users start with
LONG_TIMEOUT_SECONDS = 30.0  # the probe's long requests take 15 s; one on a lost node fails at this


def cluster_probe_options(cfg: ClusterConfig) -> ProbeOptions:
    """The Swarm lab's load (4 long, 20 short/s, 10 writes/s) through the cluster's Traefik on
    127.0.0.1, with a 30 s bound on a long request, so one lost with a node ends in time."""
    return dataclasses.replace(default_probe_options(cfg.swarm), long_timeout=LONG_TIMEOUT_SECONDS)


@dataclass
class ClusterMeasurement(ProbeTally):
    """The probe's records around one update or fault, and how it went."""

    label: str
    probe: ProbeResult
    update: SwarmUpdate | None = None
    fault: NodeFault | None = None
    update_state: str = ""
    error: str | None = None

    def failure_window(self) -> tuple[float, float] | None:
        """When the failed requests began, in seconds from the fault (first, last); None if none
        failed or there was no fault."""
        if self.fault is None or not self.probe.failures:
            return None
        starts = [r.start - self.fault.at for r in self.probe.failures]
        return round(min(starts), 2), round(max(starts), 2)

    def failed_outside_window(self) -> int:
        """Failed requests that had ended before the fault, or began neither within
        FAULT_WINDOW_SECONDS after it nor within as long after Traefik first listed a new server
        (a request in flight at the fault may fail, whenever it began)."""
        if self.fault is None:
            return self.failed
        at = self.fault.at
        starts = [s for s in (at, self.fault.new_server) if s]

        def inside(start: float) -> bool:
            return start <= at or any(s <= start <= s + FAULT_WINDOW_SECONDS for s in starts)

        return sum(1 for r in self.probe.failures if r.end < at or not inside(r.start))

    def lines(self) -> list[str]:
        """What a person reads: the update or fault, the probe's tally, failures and their window."""
        kinds = ", ".join(f"{k} {n}" for k, n in self.probe.failure_kinds().items()) or "none"
        out = [f"cluster {self.label}:"]
        if self.update:
            out.append(f"  {self.update.line()}")
        if self.fault:
            out.append(f"  {self.fault.line()}")
        if self.update_state:
            out.append(f"  Swarm's update ended: {self.update_state}")
        if self.error:
            out.append(f"  error: {self.error}")
        window = self.failure_window()
        where = f"; they began {window[0]}s to {window[1]}s from the fault" if window else ""
        out += [
            f"  probe: {tally_line(self.probe.records)}",
            f"  failed {self.failed}/{self.total} by kind: {kinds}{where}",
            f"  latency: {latency_line(self.probe.records)}",
        ]
        return out

    def to_json(self) -> dict[str, Any]:
        """The figures, for the bench's JSON."""
        fault = self.fault
        return {
            "label": self.label,
            "failed": self.failed,
            "total": self.total,
            "failure_kinds": self.probe.failure_kinds(),
            "failure_window": self.failure_window(),
            "failed_outside_window": self.failed_outside_window() if fault else None,
            "node_down_seconds": fault.seconds(fault.node_down) if fault else None,
            "new_server_seconds": fault.seconds(fault.new_server) if fault else None,
            "replaced_seconds": fault.seconds(fault.replaced) if fault else None,
            "back_seconds": fault.seconds(fault.back) if fault else None,
            "update_state": self.update.state if self.update else self.update_state or None,
            "update_seconds": round(self.update.update_seconds, 2) if self.update else None,
            "error": self.error,
        }


def with_lame_duck(cfg: ClusterConfig, drain_seconds: float | None) -> ClusterConfig:
    """The cluster's stack at v1 with the given lame duck (None: derived from the poll; 0: the
    broken variant), by a rolling update if it runs anything else; the config it runs with."""
    variant = dataclasses.replace(cfg, swarm=cfg.swarm.with_refresh(cfg.swarm.refresh_seconds, drain_seconds))
    manager = manager_client(variant)
    service = engine.swarm_service(manager, variant.swarm.app_service) or {}
    spec = ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    wanted = {"APP_VERSION=v1", f"DRAIN_SECONDS={variant.swarm.drain_seconds:g}"}
    if not wanted <= set(spec.get("Env") or []):
        drain = {"SWARM_DRAIN_SECONDS": f"{variant.swarm.drain_seconds:g}"}
        swarm_update(manager, variant.swarm, "v1", extra_env=drain)
    return variant


def measure_broken_and_fixed(
    cfg: ClusterConfig, out: Callable[[str], None] = print
) -> list[ClusterMeasurement]:
    """v1 -> v2 across the nodes twice: broken (Traefik's default 15 s poll, the app draining only
    on SIGTERM), then fixed (the cluster's poll, the lame duck derived from it)."""
    slow = dataclasses.replace(cfg, swarm=cfg.swarm.with_refresh(BROKEN_REFRESH_SECONDS))
    broken = measure_update(with_lame_duck(slow, 0), "broken: 15 s poll, no lame duck", out)
    fixed = measure_update(
        with_lame_duck(cfg, None), f"fixed: {cfg.swarm.refresh_seconds} s poll, lame duck", out
    )
    return [broken, fixed]


def measure_update(cfg: ClusterConfig, label: str, out: Callable[[str], None] = print) -> ClusterMeasurement:
    """v1 -> v2 by Swarm's rolling update across the nodes, under the probe."""
    manager = manager_client(cfg)
    measured = measure_under_load(
        lambda: swarm_update(manager, cfg.swarm, "v2"),
        cluster_probe_options(cfg),
        out=out,
        expected_errors=(TimeoutError,),
    )
    error = None if measured.error is None else str(measured.error)
    return ClusterMeasurement(label, measured.probe, update=measured.value, error=error)


def measure_fault(
    host: docker.DockerClient,
    cfg: ClusterConfig,
    fault: NodeFault,
    *,
    hold: float,
    mid_update: bool = False,
    out: Callable[[str], None] = print,
) -> ClusterMeasurement:
    """A node fault under the probe, at rest or a moment into an update to v2 (once the first
    new task serves): timed until the replacement serves, healed `hold` seconds after the fault,
    and followed until the node is back and the service settled."""
    state: list[str] = []

    def run() -> NodeFault:
        if mid_update:
            _start_update(cfg)
        cause(host, cfg, fault)
        wait_node_down(cfg, fault)
        wait_replaced(cfg, fault)
        time.sleep(max(0.0, fault.at + hold - time.time()))  # the fault lasts `hold` seconds
        if mid_update:
            fault.notes.append(f"Swarm's update when the node was healed: {_update_state(cfg)}")
        heal(host, cfg, fault)
        if mid_update:
            state.append(_wait_update_end(cfg))
        wait_back(cfg, fault, current_version(manager_client(cfg), cfg.swarm) or "?")
        return fault

    measured = measure_under_load(run, cluster_probe_options(cfg), out=out, expected_errors=(TimeoutError,))
    error = None if measured.error is None else str(measured.error)
    label = f"{fault.kind} {fault.node}" + (" mid-update" if mid_update else " at rest")
    return ClusterMeasurement(label, measured.probe, fault=fault, update_state="".join(state), error=error)


def _start_update(cfg: ClusterConfig) -> None:
    """Deploy v2 and return once the first v2 task serves (the update is under way)."""
    manager = manager_client(cfg)
    stack_deploy(cfg.swarm, "v2")
    wait_for(
        lambda: any(t.serving and t.version == "v2" for t in tasks(manager, cfg.swarm)),
        what="the first v2 task to serve",
        timeout=60,
        interval=0.25,
    )


def _update_state(cfg: ClusterConfig) -> str:
    """The state of the app service's last update (updating, completed, rollback_completed...)."""
    service = engine.swarm_service(manager_client(cfg), cfg.swarm.app_service) or {}
    return str((service.get("UpdateStatus") or {}).get("State", ""))


def _wait_update_end(cfg: ClusterConfig) -> str:
    """Wait until Swarm's update ends (completed, rolled back or paused); its state."""
    return wait_for(
        lambda: state if (state := _update_state(cfg)) in UPDATE_DONE else None,
        what="Swarm's update to end",
        timeout=180,
        interval=0.5,
    )
