"""The lab's command line: a thin layer over the functions in the other modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from lab import compose, stack
from lab.config import ConfigError, LabConfig, load_config
from lab.docker_api import DockerUnavailable, connect
from lab.traefik_api import TraefikUnavailable
from lab.waits import WaitTimeout

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


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
    routing = stack.look(client, cfg)
    if not routing.replicas:
        print(f"lab: no running replicas of {cfg.service!r} in project {cfg.project!r}")
        return EXIT_FAILED
    print(f"{'container':<28} {'version':<8} {'status':<8} {'health':<10} {'routed':<6} ip")
    for r in routing.replicas:
        routed = "yes" if routing.routed.intersection(r.ips) else "no"
        print(f"{r.name:<28} {r.version:<8} {r.status:<8} {r.health:<10} {routed:<6} {','.join(r.ips)}")
    print(f"Traefik routes {len(routing.routed)} server(s) for {cfg.traefik_service}")
    return 0


def cmd_logs(cfg: LabConfig, args: argparse.Namespace) -> int:
    """Show the stack's logs."""
    compose.logs(cfg, follow=args.follow, tail=args.tail)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m lab`."""
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, turn known errors into one line and an exit code."""
    args = build_parser().parse_args(argv)
    run: Callable[[LabConfig, argparse.Namespace], int] = args.run
    try:
        return run(load_config(), args)
    except ConfigError as error:
        print(f"lab: bad setting: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DockerUnavailable, TraefikUnavailable) as error:
        print(f"lab: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (compose.ComposeError, WaitTimeout) as error:
        print(f"lab: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
