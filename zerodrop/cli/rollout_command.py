"""`zerodrop rollout SERVICE` and `zerodrop rollback SERVICE`: any compose service behind any
Traefik, to a new image (or back to the one before), one batch at a time, confirmed in Traefik's
API; `--dry-run` says the plan and changes nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from zerodrop.cli.arguments import OneLineParser, count, duration, phase_log_file, schedule_options
from zerodrop.cli.compose_flags import add_compose_flags
from zerodrop.cli.image_source import (
    DEFAULT_PULL_TIMEOUT,
    PULL_POLICIES,
    ImageChoice,
    choose_image,
    fetch_image,
)
from zerodrop.cli.output import Output
from zerodrop.cli.rollout_report import dry_run, report_result, report_stopped_rollout
from zerodrop.cli.service_commands import TRAEFIK_API_HELP, add_deadline_flags
from zerodrop.cli.service_target import ServiceTarget, find_service, held_on_the_engine
from zerodrop.cli.signals import signals_to
from zerodrop.errors import RolloutInputError, RolloutStopped
from zerodrop.model import Release
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.history import previous_release
from zerodrop.rollout.plan import RolloutOptions, validate_options
from zerodrop.rollout.result import Interrupt

RECLAIM_HELP = (
    "an old replica out of rotation is put back if a step fails, until its stop begins; under "
    "the sigterm contract it never can be (a SIGTERM cannot be taken back): new ones stand in"
)
EXIT_HELP = (
    "exit status: 0 done; 1 a step failed (its batch undone); 2 bad input, nothing changed; 3 done "
    "but work was cut; 4 done but the last request through Traefik failed; 5 Docker or Traefik did "
    "not answer, nothing changed; 128+N interrupted by signal N (batch undone)"
)
ROLLOUT_EXAMPLES = """examples:
  zerodrop rollout web --image registry.example/shop:v2 -f compose.yml -f compose.prod.yml
  TAG=v2 zerodrop rollout web --pull always --json     # the image compose resolves, JSON lines"""
ROLLBACK_EXAMPLES = """examples:
  zerodrop rollback web -f compose.yml -f compose.prod.yml
  zerodrop rollback web --dry-run                      # which image, and the plan"""


def add_pull_flags(parser: argparse.ArgumentParser) -> None:
    """--pull and --pull-timeout, for the images a command rolls to."""
    parser.add_argument(
        "--pull", choices=PULL_POLICIES, help="as compose: default the service's pull_policy, else missing"
    )
    parser.add_argument(
        "--pull-timeout", type=duration, default=DEFAULT_PULL_TIMEOUT, metavar="DURATION",
        help=f"how long one pull may take (default {DEFAULT_PULL_TIMEOUT:.0f}s)",
    )  # fmt: skip


def _add_roll_flags(parser: argparse.ArgumentParser) -> None:
    """The flags rollout and rollback share."""
    parser.add_argument("service", metavar="SERVICE", help="the compose service")
    add_compose_flags(parser)
    add_pull_flags(parser)
    parser.add_argument("--traefik-api", help=TRAEFIK_API_HELP)
    parser.add_argument(
        "--drain", metavar="CONTRACT",
        help="the drain contract if the zerodrop.drain label does not declare it: file:/PATH (the "
        "healthcheck fails while it exists), signal:SIGUSR1 or signal:SIGUSR2, or sigterm",
    )  # fmt: skip
    parser.add_argument("--max-surge", type=count, default=1, help="replicas replaced at a time (default 1)")
    parser.add_argument("--max-draining", type=count, help="old replicas finishing at once (default: all)")
    parser.add_argument(
        "--no-overlap", dest="overlap", action="store_false",
        help="start each batch only once Traefik has dropped the old replicas of the one before "
        "(default: as soon as its new replicas are routed)",
    )  # fmt: skip
    add_deadline_flags(parser)
    parser.add_argument("--dry-run", action="store_true", help="say the plan; change nothing, fetch nothing")
    parser.add_argument("--json", action="store_true", help="only JSON lines on stdout, a result last")
    parser.add_argument("--log", type=phase_log_file, help="phase log, JSON lines (default: in the state)")


def add_rollout_command(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`zerodrop rollout` and `zerodrop rollback`, with their flags."""
    rollout = commands.add_parser(
        "rollout", help="roll a compose service to a new image, dropping nothing",
        description="Roll SERVICE to a new image, one batch at a time: each new replica routed in "
        "Traefik's API before an old one leaves, each old one out and idle before it stops.",
        epilog=f"{ROLLOUT_EXAMPLES}\n\n{RECLAIM_HELP}\n\n{EXIT_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _add_roll_flags(rollout)
    rollout.add_argument("--image", help="the image the new replicas run (default: the one compose resolves)")
    rollout.set_defaults(run=cmd_rollout)
    rollback = commands.add_parser(
        "rollback", help="roll a service back to the image it ran before its last rollout",
        description="Roll SERVICE back to the image it ran before its last completed rollout "
        "(zerodrop's history), with the same guarantees as a rollout; exit 2 if there is none.",
        epilog=f"{ROLLBACK_EXAMPLES}\n\n{EXIT_HELP}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _add_roll_flags(rollback)
    rollback.set_defaults(run=cmd_rollback, image=None)


def recover_command(args: argparse.Namespace) -> str:
    """`zerodrop recover SERVICE` with the compose flags this command was given."""
    flags = [a for f in args.files for a in ("-f", str(f))]
    flags += ["-p", args.project_name] if args.project_name else []
    flags += [a for f in args.env_files for a in ("--env-file", str(f))]
    flags += ["--drain", args.drain] if args.drain else []
    return " ".join(["zerodrop", "recover", args.service, *flags])


def _options(args: argparse.Namespace, image: str) -> RolloutOptions:
    return RolloutOptions(
        Release(image),
        **schedule_options(args),
        build=False,
        image_reference=True,
        recover_command=recover_command(args),
    )


def _running_images(found: ServiceTarget) -> str:
    """What the replicas run now ('a' or 'a,b'); RolloutInputError if none runs."""
    replicas = found.platform.replicas()
    if not replicas:
        raise RolloutInputError(
            f"no running replica of {found.spec.name!r} in project {found.target.project!r}: a rollout "
            "replaces running replicas (is -p or --project-directory what `docker compose` was given?)"
        )
    return ",".join(sorted({r.version for r in replicas}))


def _roll(args: argparse.Namespace, found: ServiceTarget, choice: ImageChoice) -> int:
    """Roll the found service to the chosen image (or, with --dry-run, say the plan)."""
    out: Output = args.output
    options = _options(args, choice.image)
    validate_options(options)
    out.context |= {"project": found.target.project, "from": _running_images(found), "to": choice.image}
    fetched = fetch_image(found.platform.client, choice, dry_run=args.dry_run)
    if args.dry_run:
        return dry_run(found, options, choice, fetched, out)
    default_log = found.target.state_dir / f"rollout-{found.target.project}-{found.spec.name}.jsonl"
    log_path: Path = args.log or default_log
    out.say(f"rollout: {choice.line()}: {fetched}")
    out.say(f"rollout: drain contract: {found.contract.line()}")
    interrupt = Interrupt()
    try:
        with held_on_the_engine(found, f"rollout to {choice.image}"), signals_to(interrupt):
            result = execute_rollout(
                found.platform, found.target, options, log_path, out.say, interrupt=interrupt,
                events=out.emit if out.json else None,
            )  # fmt: skip
    except RolloutStopped as stopped:
        return report_stopped_rollout(stopped, out)
    return report_result(result, found, choice, log_path, out)


def cmd_rollout(args: argparse.Namespace) -> int:
    """Roll SERVICE to --image, else to the image compose resolves for it."""
    if args.image:  # every input is checked before Docker is asked
        validate_options(_options(args, args.image))
    found = find_service(args)
    return _roll(args, found, choose_image(args.image, found.spec, args.pull, args.pull_timeout))


def cmd_rollback(args: argparse.Namespace) -> int:
    """Roll SERVICE back to the image it ran before its last completed rollout."""
    validate_options(_options(args, "placeholder"))  # the flags, before Docker is asked
    found = find_service(args)
    before = previous_release(found.target.state_dir, found.target.project)
    if before is None:
        raise RolloutInputError(
            f"no completed rollout of {found.spec.name!r} in zerodrop's history: nothing to roll back to"
        )
    if "," in before.version:
        raise RolloutInputError(
            f"before its last rollout {found.spec.name!r} ran several images ({before.version}): "
            "give one to `zerodrop rollout --image`"
        )
    args.output.say(f"rollback: {found.spec.name} to {before.version}, its image before its last rollout")
    choice = choose_image(before.version, found.spec, args.pull, args.pull_timeout, "zerodrop's history")
    return _roll(args, found, choice)
