"""`zerodrop up`: what `docker compose up -d` does to a project, service by service in compose's
dependency order, with every changed routed service rolled instead of recreated. `--dry-run`
prints the plan and changes and fetches nothing."""

from __future__ import annotations

import argparse
import json
from typing import Any

import docker

from zerodrop.adapters import compose, docker_sdk
from zerodrop.adapters.docker_sdk import connect
from zerodrop.cli.arguments import OneLineParser, positive
from zerodrop.cli.compose_flags import add_compose_flags, merged_config, state_dir
from zerodrop.cli.output import Output
from zerodrop.cli.rollout_command import EXIT_HELP, add_pull_flags
from zerodrop.cli.service_commands import TRAEFIK_API_HELP, add_deadline_flags
from zerodrop.cli.signals import signals_to
from zerodrop.cli.up_steps import RealSteps
from zerodrop.errors import EXIT_FAILED, EXIT_OK, ComposeError, RolloutInputError, first_line
from zerodrop.private_files import private_dir, private_write
from zerodrop.rollout.lock import rollout_lock
from zerodrop.rollout.result import Interrupt
from zerodrop.target import ComposeTarget
from zerodrop.up.plan import UpPlan, check_named, plan_up, service_references
from zerodrop.up.run import UpOutcome, run_plan

UP_EXAMPLES = """examples:
  TAG=v2 zerodrop up -p shop -f compose.yml --dry-run     # what would change, and how
  TAG=v2 zerodrop up -p shop -f compose.yml               # roll what is routed, recreate the rest
  zerodrop up web worker --atomic                        # these two; roll web back if worker fails"""


def add_up_command(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`zerodrop up`, with compose's flags and its own."""
    up = commands.add_parser(
        "up", help="`docker compose up -d` for a whole project, rolling every changed routed service",
        description="Bring every service (or those named) to what the compose files say, as "
        "`docker compose up -d` would, in its dependency order: a changed service routed by Traefik "
        "is rolled (confirmed in Traefik's API, drained, undone on failure), any other changed one "
        "recreated by compose. A routed service that cannot roll, a single replica owning a named "
        "volume, or a changed Traefik stops the plan before anything changes.",
        epilog=f"{UP_EXAMPLES}\n\n{EXIT_HELP}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    up.add_argument("services", nargs="*", metavar="SERVICE", help="only these services (default: all)")
    add_compose_flags(up)
    add_pull_flags(up)
    up.add_argument("--traefik-api", help=TRAEFIK_API_HELP)
    up.add_argument(
        "--max-parallel",
        type=positive,
        default=1,
        help="services changed at once where none depends on another (1)",
    )
    up.add_argument(
        "--remove-orphans", action="store_true",
        help="once every change is done, stop (with its grace) and remove each container of a service "
        "the compose files no longer have",
    )  # fmt: skip
    up.add_argument("--atomic", action="store_true", help="if a step fails, roll back every service rolled")
    up.add_argument(
        "--recreate-unrollable", action="store_true",
        help="recreate a service that cannot roll (a routed one, or one replica with a named volume) "
        "and accept its outage, which the plan names",
    )  # fmt: skip
    add_deadline_flags(up)
    up.add_argument("--dry-run", action="store_true", help="print the plan; change nothing, fetch nothing")
    up.add_argument("--json", action="store_true", help="only JSON lines on stdout, a result last")
    up.set_defaults(run=cmd_up)


def resolved_hashes(
    client: docker.DockerClient, project: ComposeTarget, config: dict[str, Any]
) -> dict[str, str]:
    """compose's config hash of each service as compose computes it when it creates a container: a
    `service:NAME` reference stands for NAME's running container (asked with a file of zerodrop's
    own on top that says so); RolloutInputError if compose cannot say."""
    references = service_references(config)
    resolved: dict[str, dict[str, str]] = {}
    for service, keys in references.items():
        for key, target in keys.items():
            running = docker_sdk.service_containers(client, project.project, target)
            if running:
                resolved.setdefault(service, {})[key] = f"container:{running[0].id}"
    try:
        hashes = compose.config_hashes(project)
        if resolved:
            override = private_dir(project.state_dir) / f"references-{project.project}.yml"
            private_write(override, json.dumps({"services": resolved}))
            hashes.update(
                {s: h for s, h in compose.config_hashes(project, [override]).items() if s in resolved}
            )
    except ComposeError as error:
        raise RolloutInputError(f"docker compose config --hash: {first_line(error)}") from None
    return hashes


def read_plan(args: argparse.Namespace) -> tuple[UpPlan, RealSteps]:
    """The plan compose's configuration and the running containers give, and the steps that
    would carry it out; RolloutInputError (nothing changed) for what cannot go."""
    project, config = merged_config(args)
    name = str(config.get("name") or "")
    project = project.with_overrides(project=name, state_dir=state_dir() / "up")
    check_named(config, args.services)  # before the engine is asked
    client = connect()
    hashes = resolved_hashes(client, project, config)
    running = docker_sdk.config_hashes_running(client, name)
    orphans = [c.name or "" for c in docker_sdk.orphan_containers(client, name, config.get("services") or {})]
    plan = plan_up(
        config, hashes, running, only=args.services, recreate_unrollable=args.recreate_unrollable,
        orphans=orphans,
    )  # fmt: skip
    return plan, RealSteps(args, project, args.output, Interrupt())


def say_plan(plan: UpPlan, out: Output) -> None:
    """Each service's step, one line each, and as a `plan` object with --json."""
    for step in plan.steps:
        out.say(f"up: {step.line()}")
    for name in plan.orphans:
        out.say(f"up: orphan: {name} (its service is no longer in the compose files)")
    out.emit("plan", steps=[{"service": s.service, "action": s.action, "reason": s.reason,
                             "depends_on": list(s.depends_on), "outage": s.outage or None}
                            for s in plan.steps], levels=[list(level) for level in plan.levels],
             orphans=list(plan.orphans))  # fmt: skip


def say_outcome(outcome: UpOutcome, out: Output) -> int:
    """What was done, what failed, what never began and what --atomic rolled back; the exit."""
    said = {"done": outcome.done, "never begun": outcome.not_begun, "rolled back": outcome.rolled_back,
            "NOT rolled back": outcome.not_rolled_back,
             "orphans removed": outcome.orphans_removed}  # fmt: skip
    for label, names in said.items():
        if names:
            out.say(f"up: {label}: {', '.join(names)}")
    for name, code in outcome.failed.items():
        out.say(f"up: failed: {name} (exit {code}); what is done stays done" if not outcome.rolled_back
                else f"up: failed: {name} (exit {code})")  # fmt: skip
    return out.result(
        outcome.exit_code, done=outcome.done, service_seconds=outcome.seconds, failed=outcome.failed,
        not_begun=outcome.not_begun, rolled_back=outcome.rolled_back, not_rolled_back=outcome.not_rolled_back,
        orphans_removed=outcome.orphans_removed,
    )  # fmt: skip


def cmd_up(args: argparse.Namespace) -> int:
    """Plan, check, then carry out what `docker compose up -d` would do, dropping nothing."""
    out: Output = args.output
    plan, steps = read_plan(args)
    say_plan(plan, out)
    blocked = plan.blocked()
    if blocked:
        raise RolloutInputError(
            f"not starting: {'; '.join(s.line() for s in blocked)} (name the other services, or "
            "--recreate-unrollable to accept an outage; Traefik needs the proxy rollout)"
        )
    for line in steps.prepare(plan, dry_run=args.dry_run):
        out.say(f"up: {line}")
    if plan.orphans and not args.remove_orphans:
        out.say("up: the orphans stay (as `docker compose up -d` leaves them): --remove-orphans removes them")
    if args.dry_run:
        out.say("up: dry run: nothing was changed or fetched")
        return out.result(EXIT_OK, planned=len(plan.changes()))
    if not plan.changes() and not (plan.orphans and args.remove_orphans):
        out.say("up: every service is as the compose files say: nothing to do")
        return out.result(EXIT_OK, done=[])
    with (
        rollout_lock(steps.project.state_dir, steps.project.project, "zerodrop up"),
        signals_to(steps.interrupt),
    ):
        outcome = run_plan(plan, steps, max_parallel=args.max_parallel, atomic=args.atomic, say=out.say)
        if args.remove_orphans and plan.orphans:
            if outcome.failed or steps.stopping():
                out.say("up: the orphans stay: the plan did not finish")
            else:
                outcome.orphans_removed = steps.remove_orphans(plan.orphans)
                if len(outcome.orphans_removed) < len(plan.orphans):
                    outcome.failed["(orphans)"] = EXIT_FAILED
    for shared in steps.shared.values():
        if shared.reads:
            out.say(f"up: {shared.line()}")
    if steps.interrupt.signum is not None and not outcome.failed:
        outcome.failed["(interrupt)"] = 128 + steps.interrupt.signum
    return say_outcome(outcome, out)
