"""Commands that measure or check: probe, report, workshop, lint."""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.cli.arguments import (
    probe_options_from,
)
from lab.compose_lab import ensure_images
from lab.workshop import FIXED, SCENARIOS, run_scenario
from zerodrop.adapters.docker_sdk import connect
from zerodrop.errors import EXIT_FAILED, InputError
from zerodrop.lint.engine_rules import engine_rules
from zerodrop.lint.rules import RULES
from zerodrop.lint.run import lint_file
from zerodrop.measure.probe import probe_until_signal
from zerodrop.measure.report import load_result, summarize
from zerodrop.measure.timeline import plot_timeline
from zerodrop.measure.writes import WriteCheck, check_writes
from zerodrop.rollout.phase_log import load_phases
from zerodrop.target import ComposeTarget

CLIENT_ERRORS = range(400, 500)  # statuses that say the probe asked wrong (404 included: wrong Host)


def cmd_probe(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Send load through Traefik, print a live tally and a summary, optionally save a report."""
    result = probe_until_signal(probe_options_from(cfg, args), lambda line: print(line, flush=True))
    writes = None
    if not args.no_write_check:
        writes = check_writes(connect(), cfg.project, cfg.service, result.acked_event_ids())
    print(summarize(result, writes=writes))
    if args.report:
        extra = {} if writes is None else {"writes": writes.to_json()}
        result.write(args.report, **extra)
        print(f"probe: report {args.report}")
    streams = result.streams_report()
    failed = bool(result.failures) or bool(writes and writes.missing) or bool(streams and streams.drops)
    refused = [r for r in result.failures if r.status is not None and r.status in CLIENT_ERRORS]
    if refused:  # the app refused what the probe asked (422: a --long-seconds above its cap)
        print(f"probe: the app refused {len(refused)} request(s) with 4xx: check the probe's options")
        return EXIT_FAILED
    return EXIT_FAILED if failed and args.fail_on_error else 0


def cmd_report(_: ComposeTarget, args: argparse.Namespace) -> int:
    """Summarize a probe report and draw its timeline."""
    if not args.file.is_file():
        raise InputError(f"no such report: {args.file}")
    result, extra = load_result(args.file)
    log_path = args.rollout_log or (Path(extra["rollout_log"]) if extra.get("rollout_log") else None)
    phases = load_phases(log_path)
    print(summarize(result, phases))
    if extra.get("writes"):
        print(WriteCheck.from_json(extra["writes"]).line())
    if args.plot:
        print(f"report: timeline {plot_timeline(result, phases, args.plot)}")
    return 0


def cmd_workshop(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Reproduce one workshop scenario: the broken variant, then the fixed one, with figures."""
    if args.scenario not in SCENARIOS:
        raise InputError(f"no scenario {args.scenario}; there are {', '.join(SCENARIOS)}")
    client = connect()
    ensure_images(client, cfg)
    title = SCENARIOS[args.scenario].title
    print(f"workshop {args.scenario}: {title} (each variant on a fresh stack of its own)", flush=True)
    variants = (args.variant,) if args.variant else SCENARIOS[args.scenario].variants
    plots = None if args.no_plot else cfg.out_dir / "workshop"
    outcomes = run_scenario(client, cfg, args.scenario, variants, plots)
    verdict = SCENARIOS[args.scenario].verdict
    missed = [m for o in outcomes if o.variant == FIXED and verdict for m in verdict(o)]
    for line in missed:
        print(f"workshop {args.scenario}: the fix did not hold: {line}", flush=True)
    return EXIT_FAILED if missed else 0


def cmd_lint(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Check a compose file for the workshop's traps; exit 1 if any is found."""
    path = args.file or cfg.compose_file
    findings = lint_file(path, rules=[*RULES, *engine_rules()])
    for finding in findings:
        print(finding.line())
    traps = [f for f in findings if not f.warning]
    warnings = len(findings) - len(traps)
    summary = f"{len(traps)} trap(s)" if traps else "no traps found"
    print(f"lint: {path.name}: {summary}" + f", {warnings} warning(s)" * bool(warnings))
    return EXIT_FAILED if traps else 0
