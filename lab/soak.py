"""The soak: roll v1 -> v2 -> v1 ... N times on a private stack under one continuous probe, then
stop every replica gracefully and look every acknowledged write up on the volume.

Ends with one line, `soak: R rollouts, T requests, F failed, W writes acknowledged, L lost`, and
a JSON report with every rollout's timings and the probe's figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from lab.compose_lab import ensure_images, private_project
from lab.errors import SoakInputError
from lab.lab_app import lab_platform
from lab.under_load import default_probe_options, measure_under_load
from zerodrop.errors import RolloutStopped
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.writes import WriteCheck, final_write_check
from zerodrop.model import Release
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.target import ComposeTarget

VERSIONS = ("v2", "v1")  # round 1 rolls to v2, round 2 back to v1, and so on
MAX_ROUNDS = 200
SECONDS_PER_ROUND_BOUND = 240.0  # the probe's duration bound: rounds x this, plus a margin


@dataclass
class SoakReport:
    """Every rollout's outcome, the probe's records and the write verdict."""

    rounds: int
    rollouts: list[dict[str, Any]] = field(default_factory=list)
    probe: ProbeResult | None = None
    writes: WriteCheck | None = None
    stopped: str | None = None

    @property
    def failed_requests(self) -> int:
        """Requests that did not succeed."""
        return len(self.probe.failures) if self.probe else 0

    @property
    def clean(self) -> bool:
        """Every round done, no failed request, no lost write."""
        lost = self.writes.lost if self.writes else None
        return self.stopped is None and self.failed_requests == 0 and lost == 0

    def line(self) -> str:
        """The soak's last line."""
        total = len(self.probe.records) if self.probe else 0
        acked = self.writes.acked if self.writes else 0
        lost = self.writes.lost if self.writes else "unknown"
        return (
            f"soak: {len(self.rollouts)} rollouts, {total} requests, {self.failed_requests} failed, "
            f"{acked} writes acknowledged, {lost} lost"
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON report."""
        failures = self.probe.failure_kinds() if self.probe else {}
        return {
            "rounds": self.rounds,
            "rollouts": self.rollouts,
            "stopped": self.stopped,
            "requests": len(self.probe.records) if self.probe else 0,
            "failed": self.failed_requests,
            "failures_by_kind": dict(failures),
            "writes": self.writes.to_json() if self.writes else None,
            "line": self.line(),
        }


def soak(
    client: docker.DockerClient,
    base: ComposeTarget,
    rounds: int,
    out: Callable[[str], None] = print,
) -> SoakReport:
    """Run the soak on a stack of its own (removed at the end) and return its report."""
    if not 1 <= rounds <= MAX_ROUNDS:
        raise SoakInputError(f"rounds must be between 1 and {MAX_ROUNDS}, not {rounds}")
    report = SoakReport(rounds)
    ensure_images(client, base, VERSIONS)
    with private_project(client, base, "zdsoak", {}) as cfg:

        def roll_every_round() -> None:
            for n in range(rounds):
                version = VERSIONS[n % len(VERSIONS)]
                log_path = cfg.out_dir / f"{cfg.project}-round-{n + 1}.jsonl"
                try:
                    options = RolloutOptions(Release(version), build=False)
                    platform = lab_platform(client, cfg)
                    result = execute_rollout(platform, cfg, options, log_path, lambda _: None)
                except RolloutStopped as stopped:
                    report.stopped = f"round {n + 1} to {version}: {stopped}"
                    out(f"soak: {report.stopped}")
                    return
                report.rollouts.append(
                    {"round": n + 1, "to": version, "seconds": round(result.seconds, 2),
                     "cut": [c.line() for c in result.cut], "fewest_routed": result.fewest_routed}
                )  # fmt: skip
                took, cut = result.seconds, len(result.cut)
                out(f"soak: round {n + 1}/{rounds} to {version} in {took:.1f}s, cut work on {cut} replica(s)")

        options = default_probe_options(cfg, duration=rounds * SECONDS_PER_ROUND_BOUND + 120)
        measured = measure_under_load(roll_every_round, options, out=lambda _: None)
        report.probe = measured.probe
        report.writes = final_write_check(client, cfg.project, cfg.service, measured.probe.acked_event_ids())
    return report


def save(report: SoakReport, path: Path) -> Path:
    """Write the JSON report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
    return path
