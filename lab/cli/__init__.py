"""The lab's command line: a thin layer over the functions in the other modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lab.cli.arguments import add_deadline_options, add_probe_options, add_rollout_options
from lab.cli.cluster_commands import cmd_cluster_down, cmd_cluster_rollout, cmd_cluster_status, cmd_cluster_up
from lab.cli.measure_commands import cmd_lint, cmd_probe, cmd_report, cmd_workshop
from lab.cli.rollout_commands import cmd_demo, cmd_rollout, cmd_soak
from lab.cli.stack_commands import cmd_clean, cmd_down, cmd_logs, cmd_recover, cmd_status, cmd_up
from lab.cli.swarm_commands import cmd_swarm_down, cmd_swarm_rollout, cmd_swarm_status, cmd_swarm_up
from lab.config import load_config
from lab.workshop import BROKEN, FIXED, RECIPE
from zerodrop.cli.arguments import OneLineParser, count
from zerodrop.errors import DockerUnavailable, ZerodropError
from zerodrop.rollout.execute import PREVIOUS
from zerodrop.target import ComposeTarget

# The lab's own way out, after the tool's line (the tool's speaks to users who have no Makefile).
LAB_ENGINE_HINT = (
    "; in the lab, `make setup` installs and starts one on a Debian host, and `make test-unit` needs none"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m lab`."""
    parser = OneLineParser(prog="python -m lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build, start and wait until every replica is routed")
    up.add_argument("--no-build", action="store_true", help="use the images as they are")
    up.set_defaults(run=cmd_up)
    commands.add_parser("down", help="remove containers, networks, volumes").set_defaults(run=cmd_down)
    commands.add_parser("status", help="replicas, health, routing").set_defaults(run=cmd_status)
    logs = commands.add_parser("logs", help="the stack's logs")
    logs.add_argument("--follow", "-f", action="store_true", help="keep streaming")
    logs.add_argument("--tail", type=count, default=100, help="lines per container (default 100)")
    logs.set_defaults(run=cmd_logs)
    _add_rollout_commands(commands)
    _add_measure_commands(commands)
    for name, (help_text, runs) in STACK_COMMANDS.items():
        _add_stack_commands(commands, name, help_text, runs)
    return parser


def _add_rollout_commands(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`python -m lab rollout|rollback|recover|clean-lab`."""
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
    commands.add_parser(
        "clean-lab",
        help="remove stacks killed test runs left (zdtest-*, zdws-*, zdfault-*, zdsoak-*, zdbench-*,"
        " zdswarm-*)",
    ).set_defaults(run=cmd_clean)
    recover_parser = commands.add_parser(
        "recover", help="mend what a killed rollout left: back to APP_REPLICAS ready, routed replicas"
    )
    add_deadline_options(recover_parser)
    recover_parser.set_defaults(run=cmd_recover)


def _add_measure_commands(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`python -m lab probe|report|demo|workshop|soak|lint`."""
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
    demo.add_argument(
        "--no-overlap",
        dest="overlap",
        action="store_false",
        help="start each batch only once Traefik has dropped the old replicas of the one before",
    )
    demo.add_argument("--log", type=Path, help="the rollout's phase log (default out/demo-rollout.jsonl)")
    demo.add_argument("--no-build", action="store_true", help="roll to images already on the engine")
    demo.set_defaults(run=cmd_demo)
    workshop = commands.add_parser("workshop", help="reproduce a workshop scenario, broken then fixed")
    workshop.add_argument(
        "scenario", help="page number 1-6 (docs/workshop/NN-*.md), or keepalive-race (the measurement)"
    )
    workshop.add_argument("--variant", choices=(BROKEN, RECIPE, FIXED), help="only this variant")
    workshop.add_argument("--no-plot", action="store_true", help="skip the timeline PNGs")
    workshop.set_defaults(run=cmd_workshop)
    soak_parser = commands.add_parser("soak", help="roll v1 -> v2 -> v1 ... N times under the probe")
    soak_parser.add_argument("--rounds", type=int, default=3, help="rollouts to run (default 3)")
    soak_parser.add_argument("--report", type=Path, help="JSON report (default out/soak.json)")
    soak_parser.set_defaults(run=cmd_soak)
    lint = commands.add_parser("lint", help="pre-flight check of a compose file for rollout traps")
    lint.add_argument("-f", "--file", type=Path, help="compose file (default: the lab's)")
    lint.set_defaults(run=cmd_lint)


# `python -m lab swarm|cluster up|rollout|status|down`: each stack's help, then each command's
# help and what it runs.
STACK_COMMANDS: dict[str, tuple[str, dict[str, tuple[str, Callable[..., int]]]]] = {
    "swarm": ("the lab on Docker Swarm (docker-stack.yml)", {
        "up": ("swarm mode on if off, deploy, wait until Traefik routes every task", cmd_swarm_up),
        "rollout": ("Swarm's own rolling update to a version", cmd_swarm_rollout),
        "status": ("tasks and what Traefik routes", cmd_swarm_status),
        "down": ("remove the stack; swarm mode off if the lab switched it on", cmd_swarm_down),
    }),
    "cluster": ("the Swarm lab on three Engine-26 nodes", {
        "up": ("start the nodes, form the Swarm, deploy, wait until routed", cmd_cluster_up),
        "rollout": ("Swarm's own rolling update to a version", cmd_cluster_rollout),
        "status": ("nodes, tasks, what Traefik routes", cmd_cluster_status),
        "down": ("remove the nodes and their network", cmd_cluster_down),
    }),
}  # fmt: skip


def _add_stack_commands(
    commands: argparse._SubParsersAction[OneLineParser],
    name: str,
    help_text: str,
    runs: dict[str, tuple[str, Callable[..., int]]],
) -> None:
    """`python -m lab NAME up|rollout|status|down`: each with its help and what it runs; rollout
    takes --to VERSION."""
    parser = commands.add_parser(name, help=help_text)
    sub = parser.add_subparsers(dest=f"{name}_command", required=True)
    for command, (help_line, run) in runs.items():
        one = sub.add_parser(command, help=help_line)
        if command == "rollout":
            one.add_argument("--to", required=True, metavar="VERSION", help="version to roll to")
        one.set_defaults(run=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, turn known errors into one line and an exit code."""
    args = build_parser().parse_args(argv)
    run: Callable[[ComposeTarget, argparse.Namespace], int] = args.run
    try:
        return run(load_config(), args)
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
    except ZerodropError as error:  # every known failure: its line and status (zerodrop/errors.py)
        print(
            f"lab: {error.line()}{LAB_ENGINE_HINT if isinstance(error, DockerUnavailable) else ''}",
            file=sys.stderr,
        )
        status: int = error.exit_code
        return status
