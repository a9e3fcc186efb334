"""Any action under load, measured: the probe runs before, during and after it (`measure_under_load`,
used by the workshop, the soak and the fault tests), and a rollout under load with the write
check (`probe_during_rollout`, used by `make demo` and the rollout lab tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

import docker

from lab.lab_app import lab_platform
from lab.probe_thread import ProbeThread
from zerodrop.errors import RolloutStopped
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import LONG, SHORT
from zerodrop.measure.writes import WriteCheck, check_writes
from zerodrop.model import PhaseRecord
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.phase_log import load_phases
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.rollout.result import RolloutResult
from zerodrop.target import ComposeTarget, TraefikEndpoints
from zerodrop.waits import wait_for

T = TypeVar("T")
SETTLE_SHORT_REQUESTS = 100  # short requests answered before the action starts, and after it ends


@dataclass
class MeasuredRollout:
    """The probe's records, the rollout's outcome and phases, and where every write is."""

    probe: ProbeResult
    rollout: RolloutResult | None
    failure: str | None
    phases: list[PhaseRecord]
    writes: WriteCheck


class ProbeTally:
    """A measurement's failed and total requests, for classes that hold the probe's result."""

    probe: ProbeResult

    @property
    def failed(self) -> int:
        """Requests that did not succeed."""
        return len(self.probe.failures)

    @property
    def total(self) -> int:
        """Requests answered or failed."""
        return sum(1 for r in self.probe.records if r.end)


STREAMS, WEBSOCKETS = 4, 2  # held by the default load when it holds streams


def default_probe_options(
    cfg: TraefikEndpoints, duration: float = 600.0, *, streams: bool = False
) -> ProbeOptions:
    """The load the demo and tests use: 4 long requests, 20 short/s, 10 writes/s; with `streams`,
    4 SSE streams and 2 WebSockets held open throughout too (the demo, the core rollout tests,
    the long-lived connections page)."""
    return ProbeOptions(
        base_url=cfg.http_url,
        host=cfg.app_host,
        long_concurrency=4,
        short_rate=20.0,
        write_rate=10.0,
        duration=duration,
        streams=STREAMS if streams else 0,
        websockets=WEBSOCKETS if streams else 0,
    )


@dataclass
class UnderLoad(Generic[T]):
    """The probe's records, and what the action returned or the error it raised."""

    probe: ProbeResult
    value: T | None
    error: Exception | None


def measure_under_load(
    action: Callable[[], T],
    probe_options: ProbeOptions,
    *,
    settle: int = SETTLE_SHORT_REQUESTS,
    out: Callable[[str], None] = print,
    expected_errors: tuple[type[Exception], ...] = (),
) -> UnderLoad[T]:
    """Start the probe, wait for a baseline (`settle` short answers, every long request in flight),
    run `action`, wait for `settle` more short answers, stop the probe and return everything.
    An exception of `expected_errors` from the action is returned, not raised."""
    thread = ProbeThread(probe_options, out).start()
    value: T | None = None
    error: Exception | None = None

    def answered() -> int:
        return sum(1 for r in list(thread.probe.records) if r.kind == SHORT and r.end)

    try:
        wait_for(
            lambda: answered() >= settle and thread.in_flight(LONG) >= probe_options.long_concurrency,
            what="the probe's baseline",
            timeout=60,
        )
        try:
            value = action()
        except expected_errors as caught:
            error = caught
        after = answered() + settle
        wait_for(lambda: answered() >= after, what="answers after the action", timeout=60)
    finally:
        probe = thread.finish(timeout=probe_options.long_timeout + 30)
    return UnderLoad(probe, value, error)


def probe_during_rollout(
    client: docker.DockerClient,
    cfg: ComposeTarget,
    rollout: RolloutOptions,
    probe_options: ProbeOptions,
    *,
    log_path: Path,
    out: Callable[[str], None] = print,
) -> MeasuredRollout:
    """A rollout under load, then the lost-write check."""
    measured = measure_under_load(
        lambda: execute_rollout(lab_platform(client, cfg), cfg, rollout, log_path, out),
        probe_options,
        out=out,
        expected_errors=(RolloutStopped,),
    )
    writes = check_writes(client, cfg.project, cfg.service, measured.probe.acked_event_ids())
    failure = None if measured.error is None else str(measured.error)
    # The probe ran in this process too: no CPU or memory figure of it is the rollout's alone.
    result = None if measured.value is None else replace(measured.value, cost=None)
    return MeasuredRollout(measured.probe, result, failure, load_phases(log_path), writes)


def save_report(measured: MeasuredRollout, path: Path, log_path: Path) -> Path:
    """The probe's records plus the rollout log path and write check, as JSON."""
    return measured.probe.write(
        path, rollout_log=str(log_path), rollout_failure=measured.failure, writes=measured.writes.to_json()
    )
