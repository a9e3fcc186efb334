"""`zerodrop rollout-proxy [SERVICE]`: replace the Traefik of a compose project with what its files
say now (or `--image`), without a gap: a second Traefik beside the first on the same ports, then
the first retired (zerodrop.proxy.handover). It needs Traefik in a network namespace another
service holds (`network_mode: service:anchor`) and every entrypoint bound with `reusePort`;
anything else is one line and exit 2, nothing changed."""

from __future__ import annotations

import argparse

from zerodrop.cli.arguments import OneLineParser, duration
from zerodrop.cli.compose_flags import add_compose_flags
from zerodrop.cli.output import Output
from zerodrop.cli.proxy_target import ANCHOR_DOC, prepare
from zerodrop.cli.signals import signals_to
from zerodrop.errors import EXIT_OK, HandoverStopped
from zerodrop.proxy.handover import HandoverResult, hand_over
from zerodrop.rollout.lock import rollout_lock
from zerodrop.rollout.result import Interrupt

EXAMPLES = """examples:
  zerodrop rollout-proxy -f docker-compose.yml -f docker-compose.proxy-anchor.yml --dry-run
  TRAEFIK_IMAGE=traefik:v3.7.16 zerodrop rollout-proxy traefik -f ... -f ...
  zerodrop rollout-proxy traefik --image traefik:v3.7.16 -f ... -f ..."""


def add_proxy_command(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`zerodrop rollout-proxy`, with compose's flags."""
    proxy = commands.add_parser(
        "rollout-proxy", help="replace Traefik itself (reusePort in an anchor's namespace), dropping nothing",
        description="Start a second Traefik beside the running one on the same ports, from what the compose "
        "files say now; once its own API routes everything the first routes, SIGTERM the first, hand its "
        "streams over (each routed service's zerodrop.streams signal) and remove it once it has exited. "
        "Needs Traefik in a network namespace another service holds, every entrypoint with reusePort: "
        f"{ANCHOR_DOC}.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    proxy.add_argument("service", nargs="?", metavar="SERVICE", help="the Traefik service (default: the one)")
    add_compose_flags(proxy)
    proxy.add_argument("--image", help="the new Traefik's image (default: what the compose files say)")
    proxy.add_argument("--traefik-api", help="Traefik's API URL (default: the anchor's published port of it)")
    proxy.add_argument(
        "--timeout", type=duration, metavar="DURATION", default=60.0,
        help="how long the new Traefik has to route everything the old one routes (60s)",
    )  # fmt: skip
    proxy.add_argument(
        "--dry-run", action="store_true", help="check and say what would happen; change nothing"
    )
    proxy.add_argument("--json", action="store_true", help="only JSON lines on stdout, a result last")
    proxy.set_defaults(run=cmd_rollout_proxy)


def cmd_rollout_proxy(args: argparse.Namespace) -> int:
    """Check, then replace the project's Traefik without a gap; the exit status."""
    out: Output = args.output
    ready = prepare(args, lambda service, project: out.context.update(service=service, project=project))
    for line in ready.lines:
        out.say(f"rollout-proxy: {line}")
    if args.dry_run:
        out.say("rollout-proxy: dry run: nothing was changed")
        return out.result(EXIT_OK)
    target, interrupt = ready.platform.target, Interrupt()
    with (
        rollout_lock(target.state_dir, target.project, f"zerodrop rollout-proxy {ready.name}"),
        signals_to(interrupt),
    ):
        try:
            say = lambda line: out.say(f"rollout-proxy: {line}")  # noqa: E731
            result = hand_over(ready.platform, ready.options, say, interrupt)
        except HandoverStopped as stopped:
            out.error(f"zerodrop: rollout-proxy: {stopped}", "HandoverStopped", stopped.exit_code)
            return _said(stopped.result, out)
    if args.image:
        out.say(f"rollout-proxy: the compose files still say {ready.compose_image}: change them to "
                f"{args.image}, or a later `docker compose up -d` recreates {ready.name}")  # fmt: skip
    return _said(result, out)


def _said(result: HandoverResult, out: Output) -> int:
    """The summary line and the result."""
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in result.phases.items())
    out.say(f"rollout-proxy: {result.old} -> {result.new or '(none)'}: exit {result.exit_code}; {phases}")
    return out.result(
        result.exit_code, old=result.old, new=result.new, phases=result.phases,
        streams_signals=result.streams_signals, replicas_signalled=result.replicas_signalled,
        exited_by_itself=result.exited_by_itself,
    )  # fmt: skip
