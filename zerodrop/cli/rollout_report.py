"""What `zerodrop rollout` and `rollback` say at the end: the plan of a dry run, the summary of a
rollout that finished, the report of one that stopped, each for people or as JSON lines."""

from __future__ import annotations

from pathlib import Path

from zerodrop.cli.image_source import ImageChoice
from zerodrop.cli.output import Output
from zerodrop.cli.service_target import ServiceTarget
from zerodrop.cli.stopped_report import report_stopped
from zerodrop.errors import EXIT_OK, RolloutStopped
from zerodrop.measure.report import summary_table
from zerodrop.rollout.deadlines import derive_deadlines
from zerodrop.rollout.plan import RolloutOptions, plan_batches
from zerodrop.rollout.result import RolloutResult


def dry_run(
    found: ServiceTarget, options: RolloutOptions, choice: ImageChoice, fetched: str, out: Output
) -> int:
    """The plan: the image, deadlines, contract, route, batches; nothing changed, nothing fetched."""
    deadlines = derive_deadlines(found.platform.service_timing())
    old = found.platform.replicas()
    batches = [[r.name for r in batch] for batch in plan_batches(old, options.max_surge)]
    name = f"{found.target.project}/{found.spec.name}"
    out.say(f"rollout: dry run: {name} -> {choice.image}; nothing is changed or fetched")
    out.say(f"rollout: {choice.line()}: {fetched}")
    out.say(f"rollout: {deadlines.line()}")
    out.say(f"rollout: drain contract: {found.contract.line()}")
    out.say(f"rollout: Traefik: {found.route.line()}; entrypoint {found.target.http_url}")
    if found.check is not None:
        out.say(f"rollout: last check: {found.check.line()}")
    for n, batch in enumerate(batches, 1):
        out.say(f"rollout: batch {n}: {', '.join(batch)} -> {len(batch)} new")
    return out.result(EXIT_OK, "planned", seconds=0.0, cut=[], batches=batches)


def report_result(
    result: RolloutResult, found: ServiceTarget, choice: ImageChoice, log_path: Path, out: Output
) -> int:
    """The summary of a rollout that finished (exit 0, 3 or 4), and any drift it leaves."""
    drift = None
    if found.spec.image != choice.image:
        drift = (
            f"the compose files still name {found.spec.image or 'another image'}: a later "
            f"`docker compose up -d` would recreate {found.spec.name} with it; "
            f"set the image there to {choice.image}"
        )
    if not out.json:
        out.say(summary_table(result))
        out.say(f"rollout: phase log {log_path}")
        if drift:
            out.say(f"zerodrop: {drift}")
    return out.result(
        result.exit_code,
        seconds=round(result.seconds, 2),
        cut=[c.line() for c in result.cut],
        replaced=[list(pair) for pair in result.replaced],
        unverified=result.unverified,
        drift=drift,
        phase_log=str(log_path),
        tool=None if result.cost is None else {
            "cpu_seconds": round(result.cost.cpu_own, 2),
            "commands_cpu_seconds": round(result.cost.cpu_children, 2),
            "peak_memory_mib": round(result.cost.peak_mib, 1),
        },
    )  # fmt: skip


def report_stopped_rollout(stopped: RolloutStopped, out: Output) -> int:
    """A rollout that stopped before its end (exit 1, or 128 + the signal): why, what it undid,
    what it left behind and what serves now."""
    if not out.json:
        return report_stopped(stopped, "zerodrop")
    out.emit(
        "stopped", reason=str(stopped), undone=stopped.undone, left_behind=list(stopped.left_behind),
        now=list(stopped.now),
    )  # fmt: skip
    return out.result(stopped.exit_code, seconds=None, cut=[])
