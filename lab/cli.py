"""The lab's command line: a thin layer over the functions in the other modules."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from lab import compose, soak, stack
from lab.config import ConfigError, LabConfig, load_config
from lab.deploy import PREVIOUS, deployed_release, execute_rollout, resolve_target
from lab.docker_api import DockerUnavailable, connect
from lab.docker_platform import DockerPlatform
from lab.gates import Gates
from lab.history import RolloutLocked, lock_state, rollout_lock
from lab.lint import LintInputError, lint_file
from lab.phaselog import RolloutLog, load_phases
from lab.probe import MAX_DURATION, Probe, ProbeInputError, ProbeOptions, ProbeResult
from lab.recovery import findings, look, needs_recovery, recover, state_lines
from lab.report import load_result, summarize, summary_table
from lab.rollout import Interrupt, RolloutInterrupted, RolloutStopped
from lab.rollout_plan import (
    DEFAULT_HEALTH_TIMEOUT,
    DEFAULT_MAX_SURGE,
    DEFAULT_ROUTE_TIMEOUT,
    RolloutInputError,
    RolloutOptions,
)
from lab.stack import ensure_images
from lab.timeline import plot_timeline
from lab.traefik_api import TraefikUnavailable
from lab.under_load import default_probe_options, probe_during_rollout, save_report
from lab.waits import WaitTimeout
from lab.workshop import BROKEN, FIXED, SCENARIOS, run_scenario
from lab.writes import WriteCheck, check_writes

# Exit statuses (the README's table mirrors these).
EXIT_OK = 0  # done: every replica replaced, nothing cut
EXIT_FAILED = 1  # a step failed: the current batch was undone (earlier batches stay replaced)
EXIT_BAD_INPUT = 2  # bad input, or another rollout holds the lock: nothing was changed
EXIT_CUT = 3  # done, but an old replica was stopped with work in flight or exited uncleanly
EXIT_SIGNAL_BASE = 128  # interrupted by signal N (SIGINT 130, SIGTERM 143): current batch undone


class LabArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print `lab: <message>` and exit 2."""
        self.exit(EXIT_BAD_INPUT, f"lab: {self.prog.removeprefix('python -m ')}: {message}\n")


def _finite(raw: str, *, zero_allowed: bool) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        wanted = "a finite number, zero or more" if zero_allowed else "a positive, finite number of seconds"
        raise argparse.ArgumentTypeError(f"{raw!r} must be {wanted}")
    return value


def finite_seconds(raw: str) -> float:
    """A positive, finite number of seconds (nan and inf refused)."""
    return _finite(raw, zero_allowed=False)


def finite_rate(raw: str) -> float:
    """A finite number, zero or more (nan and inf refused)."""
    return _finite(raw, zero_allowed=True)


@contextmanager
def signals_to(interrupt: Interrupt) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM ask the rollout to undo its step and stop, instead
    of killing it half-way; a second signal only says that it is still restoring."""

    def handler(signum: int, _: object) -> None:
        if interrupt.request(signum):
            print(
                f"rollout: {signal.Signals(signum).name}: undoing the current step, then stopping", flush=True
            )
        else:
            print("rollout: still restoring a consistent state; SIGKILL would leave it half-done", flush=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def cmd_up(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Build, start, wait until every replica is routed, and show one request through Traefik."""
    client = connect()
    print(f"lab: building and starting project {cfg.project!r} ({cfg.replicas} replicas)", flush=True)
    report = stack.lab_up(client, cfg, build=not args.no_build)
    print(
        f"lab: up: build {report.build_seconds:.1f}s, start {report.start_seconds:.1f}s, "
        f"all routed {report.routed_seconds:.1f}s"
    )
    print(f"lab: {report.routing.summary()}")
    answer = stack.smoke_request(cfg)
    print(
        f"lab: GET /health through Traefik -> {answer.status_code} "
        f"version={answer.headers.get('x-app-version')} replica={answer.headers.get('x-app-replica')}"
    )
    print(
        "\nThe lab is up.\n"
        f"  app (15 s request): curl -i -H 'Host: {cfg.app_host}' {cfg.http_url}/\n"
        f"  Traefik dashboard:  {cfg.api_url}/dashboard/\n"
        f"  Traefik API:        {cfg.api_url}/api/http/services/{cfg.traefik_service}\n"
        "  status / logs / down: make lab-status | make lab-logs | make lab-down"
    )
    return 0 if answer.status_code == 200 else EXIT_FAILED


def cmd_down(cfg: LabConfig, _: argparse.Namespace) -> int:
    """Remove the lab's containers, networks and volumes."""
    stack.lab_down(cfg)
    print(f"lab: project {cfg.project!r} removed (containers, networks, volumes)")
    return 0


def cmd_status(cfg: LabConfig, _: argparse.Namespace) -> int:
    """Show each replica's version, health and whether Traefik routes to it."""
    client = connect()
    view = look(DockerPlatform(client, cfg))
    if not view.replicas:
        print(f"lab: no replicas of {cfg.service!r} in project {cfg.project!r}")
        return EXIT_FAILED
    print(f"{'container':<28} {'version':<8} {'status':<8} {'health':<10} {'phase':<9} {'routed':<6} ip")
    for r in view.replicas:
        routed = "yes" if view.is_routed(r) else "no"
        phase = view.phases.get(r.id, "-")
        print(
            f"{r.name:<28} {r.version:<8} {r.status:<8} {r.health:<10} {phase:<9} {routed:<6} "
            + ",".join(r.ips)
        )
    for line in state_lines(view)[:1]:
        print(line)
    found = findings(view, cfg.replicas, lock_state(cfg.state_dir, cfg.project))
    for line in found:
        print(f"found: {line}")
    if needs_recovery(view, cfg.replicas):
        print("lab: `python -m lab recover` mends these (the next rollout does it first by itself)")
    elif found:
        print("lab: `python -m lab rollout --to VERSION` puts every replica on one version")
    return EXIT_FAILED if found else 0


def cmd_logs(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Show the stack's logs."""
    compose.logs(cfg, follow=args.follow, tail=args.tail)
    return 0


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE strings from repeated --set options."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RolloutInputError(f"--set {pair!r}: expected KEY=VALUE")
        env[key] = value
    return env


def cmd_rollout(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Replace the service's replicas one batch at a time, with no request dropped."""
    target = resolve_target(cfg, args.to, parse_assignments(args.set))
    options = RolloutOptions(
        target=target,
        max_surge=args.max_surge,
        health_timeout=args.timeout,
        route_timeout=args.route_timeout,
        build=not args.no_build,
    )
    client = connect()
    log_path = args.log or cfg.out_dir / f"rollout-{cfg.project}.jsonl"
    interrupt = Interrupt()
    try:
        with signals_to(interrupt):
            result = execute_rollout(client, cfg, options, log_path, interrupt=interrupt)
    except RolloutStopped as stopped:
        print(f"lab: rollout stopped ({stopped}); its current batch was undone")
        for line in stopped.left_behind:
            print(f"lab: left behind: {line}")
        for line in stopped.now:
            print(f"lab: {line}")
        print(f"rollout: phase log {log_path}")
        if isinstance(stopped, RolloutInterrupted):
            return EXIT_SIGNAL_BASE + stopped.signum
        return EXIT_FAILED
    print(summary_table(result))
    print(f"rollout: phase log {log_path}")
    return EXIT_CUT if result.cut else EXIT_OK


def cmd_recover(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Bring the service back to APP_REPLICAS ready, routed replicas after a killed rollout."""
    client = connect()
    platform = DockerPlatform(client, cfg)
    with rollout_lock(cfg.state_dir, cfg.project, "recover") as lock:
        view = look(platform)
        found = findings(view, cfg.replicas, lock)
        for line in found:
            print(f"found: {line}")
        log = RolloutLog(out=lambda line: print(line.replace("rollout:", "recover:", 1), flush=True))
        cut = recover(
            platform,
            Gates(platform),
            log,
            cfg.replicas,
            deployed_release(cfg, platform),
            health_timeout=args.timeout,
            route_timeout=args.route_timeout,
        )
        after = look(platform)
    for line in state_lines(after):
        print(f"recover: {line}")
    rest = findings(after, cfg.replicas, lock_state(cfg.state_dir, cfg.project))
    for line in rest:
        print(f"recover: still: {line}")
    if not found:
        print("recover: nothing to mend")
    return EXIT_CUT if cut else (EXIT_FAILED if any(not r.startswith("mixed") for r in rest) else EXIT_OK)


def probe_options_from(cfg: LabConfig, args: argparse.Namespace) -> ProbeOptions:
    """Probe options from the command line."""
    duration = MAX_DURATION if args.until_signal else args.duration
    return ProbeOptions(
        base_url=cfg.http_url,
        host=cfg.app_host,
        long_concurrency=args.long,
        short_rate=args.short_rate,
        write_rate=args.write_rate,
        duration=duration,
        long_seconds=args.long_seconds,
    )


def cmd_probe(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Send load through Traefik, print a live tally and a summary, optionally save a report."""
    probe = Probe(probe_options_from(cfg, args), out=lambda line: print(line, flush=True))

    async def run() -> ProbeResult:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, probe.stop)
        return await probe.run()

    result = asyncio.run(run())
    writes = None
    if not args.no_write_check:
        writes = check_writes(connect(), cfg.project, cfg.service, result.acked_event_ids())
    print(summarize(result, writes=writes))
    if args.report:
        data = result.to_json()
        if writes is not None:
            data["writes"] = writes.to_json()
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(data), encoding="utf-8")
        print(f"probe: report {args.report}")
    failed = bool(result.failures) or bool(writes and writes.missing)
    return EXIT_FAILED if failed and args.fail_on_error else 0


def cmd_report(_: LabConfig, args: argparse.Namespace) -> int:
    """Summarize a probe report and draw its timeline."""
    if not args.file.is_file():
        raise RolloutInputError(f"no such report: {args.file}")
    result, extra = load_result(args.file)
    log_path = args.rollout_log or (Path(extra["rollout_log"]) if extra.get("rollout_log") else None)
    phases = load_phases(log_path)
    print(summarize(result, phases))
    if extra.get("writes"):
        print(WriteCheck.from_json(extra["writes"]).line())
    if args.plot:
        print(f"report: timeline {plot_timeline(result, phases, args.plot)}")
    return 0


def cmd_demo(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Probe the running lab while it rolls to another version; print the figures and the plot."""
    client = connect()
    target = resolve_target(cfg, args.to, {})
    log_path = cfg.out_dir / "demo-rollout.jsonl"
    measured = probe_during_rollout(
        client,
        cfg,
        RolloutOptions(target=target),
        default_probe_options(cfg),
        log_path=log_path,
        out=lambda line: print(line, flush=True),
    )
    if measured.rollout is not None:
        print(summary_table(measured.rollout))
    report = save_report(measured, cfg.out_dir / "demo-probe.json", log_path)
    print(summarize(measured.probe, measured.phases, measured.writes))
    plot = plot_timeline(
        measured.probe,
        measured.phases,
        cfg.out_dir / "demo-timeline.png",
        title=f"rollout to {target.version} under load: {len(measured.probe.failures)} failed",
    )
    print(f"demo: report {report}\ndemo: timeline {plot}")
    if measured.failure:
        print(f"demo: rollout failed: {measured.failure}")
    clean = not measured.failure and not measured.probe.failures and not measured.writes.missing
    return 0 if clean else EXIT_FAILED


def cmd_workshop(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Reproduce one workshop scenario: the broken variant, then the fixed one, with figures."""
    if args.scenario not in SCENARIOS:
        raise RolloutInputError(f"no scenario {args.scenario}; there are {min(SCENARIOS)}-{max(SCENARIOS)}")
    client = connect()
    ensure_images(client, cfg)
    title = SCENARIOS[args.scenario].title
    print(f"workshop {args.scenario}: {title} (each variant on a fresh stack of its own)", flush=True)
    variants = (args.variant,) if args.variant else (BROKEN, FIXED)
    plots = None if args.no_plot else cfg.out_dir / "workshop"
    run_scenario(client, cfg, args.scenario, variants, plots)
    return 0


def cmd_soak(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Roll v1 -> v2 -> v1 ... on a private stack under the probe; exit 1 on any failure or loss."""
    client = connect()
    print(f"soak: {args.rounds} round(s) on a private stack beside the lab, under the probe", flush=True)
    report = soak.soak(client, cfg, args.rounds, out=lambda line: print(line, flush=True))
    if report.probe is not None:
        print(summarize(report.probe, writes=report.writes))
    print(f"soak: report {soak.save(report, args.report or cfg.out_dir / 'soak.json')}")
    print(report.line())
    return 0 if report.clean else EXIT_FAILED


def cmd_lint(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Check a compose file for the workshop's traps; exit 1 if any is found."""
    path = args.file or cfg.compose_file
    findings = lint_file(path)
    for finding in findings:
        print(finding.line())
    print(
        f"lint: {path.name}: {len(findings)} finding(s)" if findings else f"lint: {path.name}: no traps found"
    )
    return EXIT_FAILED if findings else 0


def add_probe_options(parser: argparse.ArgumentParser) -> None:
    """The probe's load options."""
    parser.add_argument("--long", type=int, default=4, help="long GET / kept in flight (default 4)")
    parser.add_argument(
        "--short-rate", type=finite_rate, default=10.0, help="GET /health per second (default 10)"
    )
    parser.add_argument(
        "--write-rate", type=finite_rate, default=5.0, help="POST /events per second (default 5)"
    )
    parser.add_argument(
        "--long-seconds", type=finite_rate, help="?seconds= for long requests (default: SLOW_SECONDS)"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--duration", type=finite_seconds, default=60.0, help="seconds to run (default 60)")
    group.add_argument("--until-signal", action="store_true", help="run until Ctrl-C or SIGTERM (max 1 h)")
    parser.add_argument("--report", type=Path, help="save every request to this JSON file")
    parser.add_argument(
        "--fail-on-error", action="store_true", help="exit 1 if any request failed or write was lost"
    )
    parser.add_argument("--no-write-check", action="store_true", help="skip the lost-write check (no Docker)")


DEADLINE_OPTIONS = (
    ("--timeout", DEFAULT_HEALTH_TIMEOUT, "seconds a new replica has to become healthy"),
    ("--route-timeout", DEFAULT_ROUTE_TIMEOUT, "seconds Traefik has to add or drop a replica"),
)


def add_deadline_options(parser: argparse.ArgumentParser) -> None:
    """--timeout and --route-timeout (rollout, rollback, recover)."""
    for flag, default, meaning in DEADLINE_OPTIONS:
        parser.add_argument(
            flag, type=finite_seconds, default=default, help=f"{meaning} (default {default:.0f})"
        )


def add_rollout_options(parser: argparse.ArgumentParser) -> None:
    """The options rollout and rollback share."""
    parser.add_argument(
        "--max-surge",
        type=int,
        default=DEFAULT_MAX_SURGE,
        help=f"replicas replaced at a time; never fewer than N serve (default {DEFAULT_MAX_SURGE})",
    )
    add_deadline_options(parser)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="compose variable for the new replicas (e.g. STARTUP_DELAY=8); repeatable",
    )
    parser.add_argument("--no-build", action="store_true", help="use the version's image as it is")
    parser.add_argument(
        "--log", type=Path, help="phase log (JSON lines); default out/rollout-<project>.jsonl"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m lab`."""
    parser = LabArgumentParser(prog="python -m lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build, start and wait until every replica is routed")
    up.add_argument("--no-build", action="store_true", help="use the images as they are")
    up.set_defaults(run=cmd_up)
    commands.add_parser("down", help="remove containers, networks, volumes").set_defaults(run=cmd_down)
    commands.add_parser("status", help="replicas, health, routing").set_defaults(run=cmd_status)
    logs = commands.add_parser("logs", help="the stack's logs")
    logs.add_argument("--follow", "-f", action="store_true", help="keep streaming")
    logs.add_argument("--tail", type=int, default=100, help="lines per container (default 100)")
    logs.set_defaults(run=cmd_logs)
    rollout = commands.add_parser("rollout", help="replace the replicas by a new version, zero drops")
    rollout.add_argument(
        "--to",
        required=True,
        metavar="VERSION",
        help=f"version to roll to (image tag; built unless --no-build), or {PREVIOUS}",
    )
    add_rollout_options(rollout)
    rollout.set_defaults(run=cmd_rollout)
    rollback = commands.add_parser("rollback", help="roll back to what ran before the last rollout")
    add_rollout_options(rollback)
    rollback.set_defaults(run=cmd_rollout, to=PREVIOUS)
    recover_parser = commands.add_parser(
        "recover", help="mend what a killed rollout left: back to APP_REPLICAS ready, routed replicas"
    )
    add_deadline_options(recover_parser)
    recover_parser.set_defaults(run=cmd_recover)
    probe = commands.add_parser("probe", help="load through Traefik with a tally and a summary")
    add_probe_options(probe)
    probe.set_defaults(run=cmd_probe)
    report = commands.add_parser("report", help="summary and timeline plot of a probe report")
    report.add_argument("file", type=Path, help="a probe report (--report of probe, or the demo's)")
    report.add_argument("--plot", type=Path, help="write the timeline PNG here")
    report.add_argument(
        "--rollout-log", type=Path, help="rollout phase log (default: the one the report names)"
    )
    report.set_defaults(run=cmd_report)
    demo = commands.add_parser("demo", help="roll the running lab to another version under load")
    demo.add_argument("--to", default="v2", help="version to roll to (default v2)")
    demo.set_defaults(run=cmd_demo)
    workshop = commands.add_parser("workshop", help="reproduce a workshop scenario, broken then fixed")
    workshop.add_argument("scenario", type=int, help="scenario number (docs/workshop/NN-*.md)")
    workshop.add_argument("--variant", choices=(BROKEN, FIXED), help="only this variant")
    workshop.add_argument("--no-plot", action="store_true", help="skip the timeline PNGs")
    workshop.set_defaults(run=cmd_workshop)
    soak_parser = commands.add_parser("soak", help="roll v1 -> v2 -> v1 ... N times under the probe")
    soak_parser.add_argument("--rounds", type=int, default=3, help="rollouts to run (default 3)")
    soak_parser.add_argument("--report", type=Path, help="JSON report (default out/soak.json)")
    soak_parser.set_defaults(run=cmd_soak)
    lint = commands.add_parser("lint", help="pre-flight check of a compose file for rollout traps")
    lint.add_argument("-f", "--file", type=Path, help="compose file (default: the lab's)")
    lint.set_defaults(run=cmd_lint)
    return parser


# Known failures: (exception types, exit code, prefix of the one line printed).
ERRORS: tuple[tuple[tuple[type[BaseException], ...], int, str], ...] = (
    ((ConfigError,), EXIT_BAD_INPUT, "bad setting: "),
    (
        (RolloutInputError, RolloutLocked, ProbeInputError, LintInputError, soak.SoakInputError),
        EXIT_BAD_INPUT,
        "",
    ),
    ((DockerUnavailable, TraefikUnavailable, compose.ComposeError, WaitTimeout), EXIT_FAILED, ""),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, turn known errors into one line and an exit code."""
    args = build_parser().parse_args(argv)
    run: Callable[[LabConfig, argparse.Namespace], int] = args.run
    try:
        return run(load_config(), args)
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        for kinds, code, prefix in ERRORS:
            if isinstance(error, kinds):
                print(f"lab: {prefix}{error}", file=sys.stderr)
                return code
        raise
