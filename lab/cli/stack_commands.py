"""Commands on the stack itself: up, down, status (with what a killed rollout left), logs, recover."""

from __future__ import annotations

import argparse

from lab import cleanup, compose_lab
from lab.cluster.nodes import remove_leftover_clusters
from lab.lab_app import lab_platform
from lab.swarm.stack import remove_leftover_stacks
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import connect
from zerodrop.cli.service_commands import recover_and_say
from zerodrop.errors import EXIT_FAILED
from zerodrop.rollout.leftovers import findings, look, needs_recovery, replica_table, state_lines
from zerodrop.rollout.lock import lock_state
from zerodrop.target import ComposeTarget


def cmd_up(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Build, start, wait until every replica is routed, and show one request through Traefik."""
    client = connect()
    print(f"lab: building and starting project {cfg.project!r} ({cfg.replicas} replicas)", flush=True)
    report = compose_lab.lab_up(client, cfg, build=not args.no_build)
    print(
        f"lab: up: build {report.build_seconds:.1f}s, start {report.start_seconds:.1f}s, "
        f"all routed {report.routed_seconds:.1f}s"
    )
    print(f"lab: {report.routing.summary()}")
    answer = compose_lab.smoke_request(cfg)
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


def cmd_down(cfg: ComposeTarget, _: argparse.Namespace) -> int:
    """Remove the lab's containers, networks and volumes."""
    compose_lab.lab_down(cfg)
    print(f"lab: project {cfg.project!r} removed (containers, networks, volumes)")
    return 0


def cmd_status(cfg: ComposeTarget, _: argparse.Namespace) -> int:
    """Show each replica's version, health and whether Traefik routes to it."""
    client = connect()
    view = look(lab_platform(client, cfg))
    if not view.replicas:
        print(f"lab: no replicas of {cfg.service!r} in project {cfg.project!r}")
        return EXIT_FAILED
    for line in replica_table(view):
        print(line)
    for line in state_lines(view)[:1]:
        print(line)
    lock = lock_state(cfg.state_dir, cfg.project)
    found = findings(view, cfg.replicas, lock)
    for line in found:
        print(f"found: {line}")
    if needs_recovery(view, cfg.replicas, lock):
        print("lab: `python -m lab recover` mends these (the next rollout does it first by itself)")
    elif found:
        print("lab: `python -m lab rollout --to VERSION` puts every replica on one version")
    return EXIT_FAILED if found else 0


def cmd_logs(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Show the stack's logs."""
    compose.logs(cfg, follow=args.follow, tail=args.tail)
    return 0


def cmd_clean(cfg: ComposeTarget, _: argparse.Namespace) -> int:
    """Remove the stacks killed test runs left behind (zdtest-*, zdws-*, zdfault-*, zdsoak-*, zdbench-*,
    Swarm stacks zdswarm-*, three-node clusters zdcluster-*)."""
    client = connect()
    done = cleanup.remove_leftovers(client, keep={cfg.project})
    print(done.line())
    stacks = remove_leftover_stacks(client, cleanup.LEFTOVER_PREFIXES)
    print(f"clean-lab: {len(stacks)} leftover Swarm stack(s) {stacks} removed")
    clusters = remove_leftover_clusters(client, cleanup.LEFTOVER_PREFIXES)
    print(f"clean-lab: {len(clusters)} leftover cluster(s) {clusters} removed")
    for line in done.skipped:
        print(f"clean-lab: kept {line}")
    return 0


def cmd_recover(cfg: ComposeTarget, args: argparse.Namespace) -> int:
    """Bring the service back to APP_REPLICAS ready, routed replicas after a killed rollout."""
    return recover_and_say(lab_platform(connect(), cfg), cfg, args)
