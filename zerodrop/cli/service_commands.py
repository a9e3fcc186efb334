"""`zerodrop status SERVICE` and `zerodrop recover SERVICE`: a look at any compose service (its
replicas, what Traefik routes, what a killed rollout left, image drift) and the mending of it."""

from __future__ import annotations

import argparse
from collections import Counter

from zerodrop.cli.arguments import OneLineParser, duration
from zerodrop.cli.compose_flags import add_compose_flags
from zerodrop.cli.output import Output
from zerodrop.cli.service_target import ServiceTarget, find_service, held_on_the_engine
from zerodrop.errors import EXIT_FAILED, EXIT_OK
from zerodrop.rollout.leftovers import ServiceView, findings, look, needs_recovery, replica_table, state_lines
from zerodrop.rollout.lock import lock_state
from zerodrop.rollout.mend import execute_recover
from zerodrop.rollout.platform import RolloutPlatform
from zerodrop.target import ComposeTarget

TRAEFIK_API_HELP = (
    "Traefik's API: a URL on 127.0.0.1, or container:NAME[:PORT] to ask it inside its container with no "
    "port published (default: label zerodrop.traefik-api, else http://127.0.0.1:8080)"
)


STATUS_EPILOG = """examples:
  zerodrop status web -f compose.yml -f compose.prod.yml
  zerodrop status web --json | jq .problems

exit status: 0 the service is whole (every replica ready, routed, of the configured image);
1 something is found; 2 bad input; 5 Docker or Traefik did not answer"""
RECOVER_EPILOG = """examples:
  zerodrop recover web -f compose.yml -f compose.prod.yml

exit status: 0 whole again; 1 still not whole (it says what); 2 bad input or a rollout holds the
lock; 3 an extra replica was stopped with work in flight; 5 Docker or Traefik did not answer"""


def _add_service_command(
    commands: argparse._SubParsersAction[OneLineParser], name: str, help_text: str, epilog: str
) -> OneLineParser:
    parser = commands.add_parser(
        name, help=help_text, description=help_text, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("service", metavar="SERVICE", help="the compose service")
    add_compose_flags(parser)
    parser.add_argument("--traefik-api", help=TRAEFIK_API_HELP)
    parser.add_argument(
        "--drain", metavar="CONTRACT", help="the drain contract, if no zerodrop.drain label declares it"
    )
    parser.add_argument("--json", action="store_true", help="only JSON lines on stdout, a result last")
    return parser


def add_deadline_flags(parser: argparse.ArgumentParser) -> None:
    """--timeout and --route-timeout: deadlines that override those derived from the service."""
    parser.add_argument(
        "--timeout", type=duration, metavar="DURATION", help="how long a new replica has to be healthy (90s)"
    )
    parser.add_argument(
        "--route-timeout", type=duration, metavar="DURATION", help="how long Traefik has to add or drop one"
    )


def add_service_commands(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`zerodrop status` and `zerodrop recover`, with compose's flags."""
    status = _add_service_command(
        commands, "status", "each replica, what Traefik routes, leftovers of a killed rollout, image drift",
        STATUS_EPILOG,
    )  # fmt: skip
    status.set_defaults(run=cmd_status)
    recover = _add_service_command(
        commands, "recover", "bring the service back to its replica count of ready, routed replicas",
        RECOVER_EPILOG,
    )  # fmt: skip
    add_deadline_flags(recover)
    recover.set_defaults(run=cmd_recover)


def drift(configured: str, view: ServiceView) -> str | None:
    """One line when the compose files name another image than the running replicas run (a later
    `docker compose up -d` would recreate them with it), else None."""
    running = Counter(r.version for r in view.running)
    if not running or set(running) == {configured}:
        return None
    image = running.most_common(1)[0][0]
    return (
        f"image drift: the compose files name {configured or 'no image'}, replicas run "
        f"{', '.join(sorted(running))}: a `docker compose up -d` would recreate them; "
        f"set the image there to {image}"
    )


def status_lines(found: ServiceTarget, view: ServiceView) -> tuple[list[str], list[str]]:
    """The table, what serves and one `found:` line per problem; and the problems (none: the
    service is whole)."""
    target = found.target
    lines = [*replica_table(view), *state_lines(view)[:1]]
    lines.append(f"drain contract: {found.contract.line() if not found.problems else 'see below'}")
    lines.append(f"Traefik: {found.route.line()}; entrypoint {target.entrypoint_url}")
    lock = lock_state(target.state_dir, target.project)
    problems = [*findings(view, target.replicas, lock), *found.problems]
    problems += [line for line in [drift(found.spec.image, view)] if line]
    lines += [f"found: {line}" for line in problems]
    if needs_recovery(view, target.replicas, lock):
        lines.append(f"zerodrop: `zerodrop recover {found.spec.name}` mends these (a rollout does it first)")
    return lines, problems


def cmd_status(args: argparse.Namespace) -> int:
    """0 when the service is whole (every replica ready, routed, of the configured image), else 1."""
    out: Output = args.output
    found = find_service(args, strict=False)
    out.context["project"] = found.target.project
    view = look(found.platform)
    replicas = [
        {"name": r.name, "image": r.version, "status": r.status, "health": r.health}
        | {"routed": view.is_routed(r)}
        for r in view.replicas
    ]
    if not view.replicas:
        out.say(f"zerodrop: no replicas of {found.spec.name!r} in project {found.target.project!r}")
        return out.result(EXIT_FAILED, "not whole", replicas=[], problems=["no replicas"])
    lines, problems = status_lines(found, view)
    for line in lines:
        out.say(line)
    code = EXIT_FAILED if problems else EXIT_OK
    return out.result(code, "not whole" if problems else "whole", replicas=replicas, problems=problems)


def cmd_recover(args: argparse.Namespace) -> int:
    """Mend what a killed rollout left; 0 whole, 1 still wrong, 2 bad input, 3 work was cut."""
    found = find_service(args)
    args.output.context["project"] = found.target.project
    with held_on_the_engine(found, "recover"):
        return recover_and_say(found.platform, found.target, args)


def recover_and_say(platform: RolloutPlatform, target: ComposeTarget, args: argparse.Namespace) -> int:
    """Recover with the command line's deadlines, say what was done, and its exit status."""
    out: Output = getattr(args, "output", None) or Output()
    done = execute_recover(platform, target, health=args.timeout, route=args.route_timeout, out=out.say)
    lines = done.lines()
    for line in lines:
        out.say(f"recover: {line}")
    return out.result(done.exit_code(), lines=lines)
