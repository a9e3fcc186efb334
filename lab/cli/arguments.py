"""Argument parsing: one-line usage errors, finite numbers only, and the option groups commands share."""

from __future__ import annotations

import argparse

from zerodrop.cli.arguments import (
    add_run_length_options,
    add_stream_options,
    finite_rate,
    finite_seconds,
    long_seconds,
    phase_log_file,
    stream_options,
)
from zerodrop.errors import RolloutInputError
from zerodrop.measure.probe_data import MAX_DURATION, ProbeOptions
from zerodrop.rollout.plan import DEFAULT_MAX_SURGE
from zerodrop.target import ComposeTarget


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE strings from repeated --set options."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RolloutInputError(f"--set {pair!r}: expected KEY=VALUE")
        env[key] = value
    return env


def probe_options_from(cfg: ComposeTarget, args: argparse.Namespace) -> ProbeOptions:
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
        new_connections=args.new_connections,
        **stream_options(args),
    )


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
        "--long-seconds", type=long_seconds, help="?seconds= for long requests (default: SLOW_SECONDS)"
    )
    parser.add_argument(
        "--new-connections",
        action="store_true",
        help="open a new connection per request (default: keep-alive pool, as real clients do)",
    )
    add_stream_options(parser, paths=False)
    add_run_length_options(parser)
    parser.add_argument(
        "--fail-on-error", action="store_true", help="exit 1 if any request failed or write was lost"
    )
    parser.add_argument("--no-write-check", action="store_true", help="skip the lost-write check (no Docker)")


DEADLINE_OPTIONS = (
    ("--timeout", "seconds a new replica has to become healthy"),
    ("--route-timeout", "seconds Traefik has to add or drop a replica"),
)


def add_deadline_options(parser: argparse.ArgumentParser) -> None:
    """--timeout and --route-timeout (rollout, rollback, recover)."""
    for flag, meaning in DEADLINE_OPTIONS:
        parser.add_argument(
            flag,
            type=finite_seconds,
            help=f"{meaning} (default: derived from the service's healthcheck, printed at the start)",
        )


def add_rollout_options(parser: argparse.ArgumentParser) -> None:
    """The options rollout and rollback share."""
    parser.add_argument(
        "--max-surge",
        type=int,
        default=DEFAULT_MAX_SURGE,
        help=f"replicas replaced at a time; never fewer than N serve (default {DEFAULT_MAX_SURGE})",
    )
    parser.add_argument(
        "--max-draining",
        type=int,
        help="old replicas finishing their requests at once, out of rotation (default: the replica count)",
    )
    parser.add_argument(
        "--no-overlap",
        dest="overlap",
        action="store_false",
        help="start each batch only once Traefik has dropped the old replicas of the one before",
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
        "--log", type=phase_log_file, help="phase log (JSON lines); default out/rollout-<project>.jsonl"
    )
