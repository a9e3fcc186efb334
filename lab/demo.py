"""A rollout under load, measured: the probe runs before, during and after the rollout, then
every acknowledged write is looked up. `make demo` and the rollout lab tests both use this."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker

from lab.config import LabConfig
from lab.deploy import execute_rollout
from lab.probe import LONG, SHORT, ProbeOptions, ProbeResult, ProbeThread
from lab.report import Phase, load_phases
from lab.rollout import RolloutFailed, RolloutOptions, RolloutResult
from lab.waits import wait_for
from lab.writes import WriteCheck, check_writes

SETTLE_SHORT_REQUESTS = 30  # short requests answered before the rollout starts, and after it ends


@dataclass
class MeasuredRollout:
    """The probe's records, the rollout's outcome and phases, and where every write is."""

    probe: ProbeResult
    rollout: RolloutResult | None
    failure: str | None
    phases: list[Phase]
    writes: WriteCheck


def default_probe_options(cfg: LabConfig, duration: float = 600.0) -> ProbeOptions:
    """The load the demo and tests use: 4 long requests, 20 short/s, 10 writes/s."""
    return ProbeOptions(
        base_url=cfg.http_url,
        host=cfg.app_host,
        long_concurrency=4,
        short_rate=20.0,
        write_rate=10.0,
        duration=duration,
    )


def probe_during_rollout(
    client: docker.DockerClient,
    cfg: LabConfig,
    rollout: RolloutOptions,
    probe_options: ProbeOptions,
    *,
    log_path: Path,
    out: Callable[[str], None] = print,
) -> MeasuredRollout:
    """Start the probe, wait until it has a baseline with every long request in flight, roll,
    let it run on until it has answers after the rollout, stop it, and check the writes."""
    thread = ProbeThread(probe_options, out).start()
    result: RolloutResult | None = None
    failure: str | None = None

    def answered(kind: str) -> int:
        return sum(1 for r in list(thread.probe.records) if r.kind == kind and r.end)

    try:
        wait_for(
            lambda: (
                answered(SHORT) >= SETTLE_SHORT_REQUESTS
                and thread.in_flight(LONG) >= probe_options.long_concurrency
            ),
            what="the probe's baseline",
            timeout=60,
        )
        try:
            result = execute_rollout(client, cfg, rollout, log_path, out)
        except RolloutFailed as error:
            failure = str(error)
        after = answered(SHORT) + SETTLE_SHORT_REQUESTS
        wait_for(lambda: answered(SHORT) >= after, what="answers after the rollout", timeout=60)
    finally:
        probe = thread.finish(timeout=probe_options.long_timeout + 30)
    writes = check_writes(client, cfg.project, cfg.service, probe.acked_event_ids())
    return MeasuredRollout(probe, result, failure, load_phases(log_path), writes)


def save_report(measured: MeasuredRollout, path: Path, log_path: Path) -> Path:
    """The probe's records plus the rollout log path and write check, as JSON."""
    data = measured.probe.to_json()
    data["rollout_log"] = str(log_path)
    data["rollout_failure"] = measured.failure
    data["writes"] = {
        "acked": measured.writes.acked,
        "persisted": measured.writes.persisted,
        "buffered": measured.writes.buffered,
        "lost": measured.writes.lost,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
