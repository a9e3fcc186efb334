"""`zerodrop rollout SERVICE --image IMAGE`: any compose service behind any Traefik, to a new image,
one batch at a time, confirmed in Traefik's API; `--dry-run` says the plan and changes nothing."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from zerodrop.adapters import docker_sdk
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.cli.arguments import OneLineParser, count, phase_log_file
from zerodrop.cli.compose_flags import add_compose_flags
from zerodrop.cli.service_commands import TRAEFIK_API_HELP, add_deadline_flags
from zerodrop.cli.service_target import ServiceTarget, find_service, held_on_the_engine
from zerodrop.cli.signals import signals_to
from zerodrop.cli.stopped_report import report_stopped
from zerodrop.errors import EXIT_OK, DockerCliError, RolloutInputError, RolloutStopped, first_line
from zerodrop.measure.report import summary_table
from zerodrop.model import Release
from zerodrop.rollout.deadlines import derive_deadlines
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.phase_log import load_phases
from zerodrop.rollout.plan import RolloutOptions, plan_batches, validate_options
from zerodrop.rollout.result import Interrupt, RolloutResult

PULL_TIMEOUT = 60.0  # seconds one pull of a missing --image may take
RECLAIM_HELP = (
    "an old replica out of rotation is put back if a step fails, until its stop begins; under "
    "the sigterm contract it never can be (a SIGTERM cannot be taken back): new ones stand in"
)


def add_rollout_command(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`zerodrop rollout` and its flags, spelled as the interface fixes them."""
    rollout = commands.add_parser(
        "rollout", help="roll a compose service to a new image, dropping nothing", epilog=RECLAIM_HELP
    )
    rollout.add_argument("service", metavar="SERVICE", help="the compose service")
    rollout.add_argument("--image", required=True, help="the image the new replicas run (local or pullable)")
    add_compose_flags(rollout)
    rollout.add_argument("--traefik-api", help=TRAEFIK_API_HELP)
    rollout.add_argument("--drain", help="the drain contract, if the service's label does not declare it")
    rollout.add_argument("--max-surge", type=count, default=1, help="replicas replaced at a time (default 1)")
    rollout.add_argument("--max-draining", type=count, help="old replicas finishing at once (default: all)")
    add_deadline_flags(rollout)
    rollout.add_argument("--dry-run", action="store_true", help="say the plan; change nothing")
    rollout.add_argument("--json", action="store_true", help="phase records and the summary as JSON lines")
    rollout.add_argument("--log", type=phase_log_file, help="phase log (JSON lines)")
    rollout.set_defaults(run=cmd_rollout)


def _ensure_rollable(found: ServiceTarget, image: str, *, pull: bool = True) -> bool:
    """Replicas run, and the image is local or (with `pull`) one bounded pull brings it;
    RolloutInputError otherwise. Whether the image was on the engine already."""
    if not found.platform.replicas():
        raise RolloutInputError(
            f"no running replica of {found.spec.name!r} in project {found.target.project!r}: a rollout "
            "replaces running replicas (is -p or --project-directory what `docker compose` was given?)"
        )
    client = found.platform.client
    if docker_sdk.image_exists(client, image):
        return True
    if not pull:
        return False
    try:  # one bounded attempt: a host with no registry must not hang here
        run_docker("pull", "--quiet", image, env=dict(os.environ), timeout=PULL_TIMEOUT, name=f"pull {image}")
    except DockerCliError as error:
        said = (error.output.strip().splitlines() or [first_line(error)])[-1]
        raise RolloutInputError(f"--image {image}: not on this engine, and the pull failed: {said}") from None
    return False


def _dry_run(found: ServiceTarget, options: RolloutOptions, present: bool) -> int:
    """The plan: the image, deadlines, contract, route, batches; nothing changed, nothing fetched."""
    deadlines = derive_deadlines(found.platform.service_timing())
    old = found.platform.replicas()
    name = f"{found.target.project}/{found.spec.name}"
    print(f"rollout: dry run: {name} -> {options.target.version}; nothing is changed or fetched")
    where = "present on this engine" if present else "not on this engine: a rollout would pull it first"
    print(f"rollout: image {options.target.version}: {where}")
    print(f"rollout: {deadlines.line()}")
    print(f"rollout: drain contract: {found.contract.line()}")
    print(f"rollout: Traefik: {found.route.line()}; entrypoint {found.target.http_url}")
    if found.check is not None:
        print(f"rollout: last check: {found.check.line()}")
    for n, batch in enumerate(plan_batches(old, options.max_surge), 1):
        print(f"rollout: batch {n}: {', '.join(r.name for r in batch)} -> {len(batch)} new")
    return EXIT_OK


def _print_json(result: RolloutResult | None, log_path: Path) -> None:
    """Every phase record, then the summary, one JSON document a line."""
    for record in load_phases(log_path):
        print(json.dumps({"phase": asdict(record)}))
    if result is not None:
        print(
            json.dumps(
                {
                    "summary": {
                        "replaced": result.replaced,
                        "seconds": round(result.seconds, 2),
                        "cut": [c.line() for c in result.cut],
                        "unverified": result.unverified,
                    }
                }
            )
        )


def recover_command(args: argparse.Namespace) -> str:
    """`zerodrop recover SERVICE` with the compose flags this command was given."""
    flags = [a for f in args.files for a in ("-f", str(f))]
    flags += ["-p", args.project_name] if args.project_name else []
    flags += [a for f in args.env_files for a in ("--env-file", str(f))]
    flags += ["--drain", args.drain] if args.drain else []
    return " ".join(["zerodrop", "recover", args.service, *flags])


def cmd_rollout(args: argparse.Namespace) -> int:
    """Roll SERVICE to --image; 0 done, 1 failed (batch undone), 2 bad input, 3 cut, 4 done but
    the last request through the entrypoint did not answer as declared, 128+n signal."""
    options = RolloutOptions(
        Release(args.image),
        max_surge=args.max_surge,
        max_draining=args.max_draining,
        health_timeout=args.timeout,
        route_timeout=args.route_timeout,
        build=False,
        image_reference=True,
        recover_command=recover_command(args),
    )
    validate_options(options)  # before Docker is asked
    found = find_service(args)
    present = _ensure_rollable(found, args.image, pull=not args.dry_run)
    if args.dry_run:
        return _dry_run(found, options, present)
    log_path = args.log or found.target.state_dir / f"rollout-{found.target.project}-{found.spec.name}.jsonl"
    out: Callable[[str], None] = (lambda _: None) if args.json else (lambda line: print(line, flush=True))
    out(f"rollout: drain contract: {found.contract.line()}")
    interrupt = Interrupt()
    try:
        with held_on_the_engine(found, f"rollout to {args.image}"), signals_to(interrupt):
            result = execute_rollout(
                found.platform, found.target, options, log_path, out, interrupt=interrupt
            )
    except RolloutStopped as stopped:
        status = report_stopped(stopped, "zerodrop")
        if args.json:
            _print_json(None, log_path)
        return status
    if args.json:
        _print_json(result, log_path)
    else:
        print(summary_table(result))
        print(f"rollout: phase log {log_path}")
    if found.spec.image != args.image:
        print(
            f"zerodrop: the compose files still name {found.spec.image or 'another image'}: a later "
            f"`docker compose up -d` would recreate {found.spec.name} with it; "
            f"set the image there to {args.image}"
        )
    return result.exit_code
