"""Commands that roll: rollout and rollback (signals undo the current step), demo, soak."""

from __future__ import annotations

import argparse

from lab import soak
from lab.cli.arguments import (
    parse_assignments,
)
from lab.lab_app import lab_platform
from lab.under_load import default_probe_options, probe_during_rollout, save_report
from zerodrop.adapters.compose_file import settable_variables
from zerodrop.adapters.docker_sdk import connect
from zerodrop.cli.arguments import schedule_options
from zerodrop.cli.signals import signals_to
from zerodrop.cli.stopped_report import report_stopped, say
from zerodrop.errors import (
    EXIT_FAILED,
    RolloutStopped,
)
from zerodrop.measure.report import summarize, summary_table
from zerodrop.measure.timeline import plot_timeline
from zerodrop.rollout.execute import execute_rollout, resolve_target
from zerodrop.rollout.plan import RolloutOptions, check_variables, validate_options
from zerodrop.rollout.result import Interrupt
from zerodrop.target import ComposeTarget


def cmd_rollout(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Replace the service's replicas one batch at a time, with no request dropped."""
    target = resolve_target(cfg, args.to, parse_assignments(args.set))
    options = RolloutOptions(target=target, **schedule_options(args), build=not args.no_build)
    # Everything that can be checked without Docker is, before connecting: bad input says so even
    # when the engine is down.
    validate_options(options)
    check_variables(options.target.env, *settable_variables(cfg.compose_files, cfg.service))
    client = connect()
    log_path = args.log or cfg.out_dir / f"rollout-{cfg.project}.jsonl"
    interrupt = Interrupt()
    try:
        with signals_to(interrupt):
            result = execute_rollout(lab_platform(client, cfg), cfg, options, log_path, interrupt=interrupt)
    except RolloutStopped as stopped:
        status = report_stopped(stopped, "lab")
        say(f"rollout: phase log {log_path}")
        return status
    print(summary_table(result))
    print(f"rollout: phase log {log_path}")
    return result.exit_code


def cmd_demo(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Probe the running lab while it rolls to another version; print the figures and the plot."""
    client = connect()
    target = resolve_target(cfg, args.to, {})
    log_path = args.log or cfg.out_dir / "demo-rollout.jsonl"
    measured = probe_during_rollout(
        client,
        cfg,
        RolloutOptions(target=target, overlap=args.overlap, build=not args.no_build),
        default_probe_options(cfg, streams=True),
        log_path=log_path,
        out=lambda line: print(line, flush=True),
    )
    if measured.rollout is not None:
        print(summary_table(measured.rollout))
    report = save_report(measured, cfg.out_dir / "demo-probe.json", log_path)
    print(summarize(measured.probe, measured.phases, measured.writes))
    streams = measured.probe.streams_report()
    plot = plot_timeline(
        measured.probe,
        measured.phases,
        cfg.out_dir / "demo-timeline.png",
        title=f"rollout to {target.version} under load: {len(measured.probe.failures)} failed, "
        f"{sum(streams.drops.values()) if streams else 0} stream(s) dropped",
    )
    print(f"demo: report {report}\ndemo: timeline {plot}")
    if measured.failure:
        print(f"demo: rollout failed: {measured.failure}")
    dropped = bool(streams and streams.drops)
    clean = (
        not measured.failure and not measured.probe.failures and not measured.writes.missing and not dropped
    )
    return 0 if clean else EXIT_FAILED


def cmd_soak(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Roll v1 -> v2 -> v1 ... on a private stack under the probe; exit 1 on any failure or loss."""
    client = connect()
    print(f"soak: {args.rounds} round(s) on a private stack beside the lab, under the probe", flush=True)
    report = soak.soak(client, cfg, args.rounds, out=lambda line: print(line, flush=True))
    if report.probe is not None:
        print(summarize(report.probe, writes=report.writes))
    print(f"soak: report {soak.save(report, args.report or cfg.out_dir / 'soak.json')}")
    print(report.line())
    return 0 if report.clean else EXIT_FAILED
