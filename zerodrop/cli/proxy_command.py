"""`zerodrop rollout-proxy [SERVICE]`: replace the Traefik of a compose project with what its files
say now (or `--image`), without a gap: a second Traefik beside the first on the same ports, then
the first retired (zerodrop.proxy.handover). It needs Traefik in a network namespace another
service holds (`network_mode: service:anchor`) and every entrypoint bound with `reusePort`;
anything else is one line and exit 2, nothing changed."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zerodrop.adapters import docker_sdk
from zerodrop.adapters.compose_file import command, is_traefik
from zerodrop.adapters.docker_sdk import connect
from zerodrop.adapters.proxy_platform import DockerProxyPlatform
from zerodrop.adapters.traefik_routes import routed_by_traefik
from zerodrop.cli.arguments import OneLineParser, duration
from zerodrop.cli.compose_flags import add_compose_flags, merged_config, state_dir
from zerodrop.cli.output import Output
from zerodrop.cli.signals import signals_to
from zerodrop.durations import parse_duration
from zerodrop.errors import EXIT_OK, ComposeError, RolloutInputError, first_line
from zerodrop.lint.traefik_static import static_of
from zerodrop.private_files import private_dir, private_write
from zerodrop.proxy.handover import HandoverOptions, HandoverResult, HandoverStopped, hand_over
from zerodrop.rollout.contract import STREAMS_LABEL, parse_streams
from zerodrop.rollout.lock import rollout_lock
from zerodrop.rollout.result import Interrupt

DEFAULT_GRACE = 10.0  # Traefik's own transport.lifeCycle.graceTimeOut
ANCHOR_DOC = "docs/proxy-rollout.md (docker-compose.proxy-anchor.yml)"
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


def flags_of(args: Sequence[str]) -> dict[str, str]:
    """Traefik's command-line flags as lower-case keys and their values (a bare flag is 'true')."""
    found: dict[str, str] = {}
    for arg in args:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            found[key.lower()] = value if "=" in arg else "true"
    return found


def reuseport_problems(flags: Mapping[str, str]) -> list[str]:
    """What keeps a second Traefik from binding beside one started with these flags: an
    entrypoint without reusePort (the API's own `traefik` entrypoint too, when the API is served)."""
    entrypoints = sorted(
        {k.split(".")[1] for k in flags if k.startswith("entrypoints.") and k.endswith(".address")}
    )
    problems = [
        f"entrypoint {name} has no reusePort (--entrypoints.{name}.reusePort=true)"
        for name in entrypoints
        if flags.get(f"entrypoints.{name}.reuseport", "false").lower() != "true"
    ]
    api_served = flags.get("api.insecure", "false").lower() == "true"
    if api_served and "traefik" not in entrypoints:
        problems.append(
            "the API is on Traefik's default entrypoint `traefik` (:8080), which has no reusePort: declare "
            "--entrypoints.traefik.address=:8080 and --entrypoints.traefik.reusePort=true"
        )
    return problems


def seconds_of(flags: Mapping[str, str], setting: str, default: float) -> float:
    """The longest of one lifeCycle setting over the entrypoints (e.g. graceTimeOut), in seconds."""
    values = [
        parse_duration(v, default) for k, v in flags.items() if k.endswith(f".transport.lifecycle.{setting}")
    ]
    return max(values) if values else default


def api_url_of(config: Mapping[str, Any], holder: str, flags: Mapping[str, str]) -> str:
    """Traefik's API as published by the service holding its namespace, on 127.0.0.1."""
    inside = int(flags.get("entrypoints.traefik.address", ":8080").rsplit(":", 1)[-1] or 8080)
    ports = (config.get("services") or {}).get(holder, {}).get("ports") or []
    for port in ports:
        if isinstance(port, Mapping) and int(port.get("target", 0)) == inside and port.get("published"):
            return f"http://127.0.0.1:{port['published']}"
    raise RolloutInputError(
        f"service {holder} publishes no port for Traefik's API (:{inside}): give --traefik-api"
    )


def streams_of(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each routed service that declares a streams signal, with it."""
    services: Mapping[str, Any] = config.get("services") or {}
    exposed = static_of(dict(services)).exposed_by_default
    found = []
    for name, data in sorted(services.items()):
        labels = data.get("labels") or {}
        labels = dict(labels) if isinstance(labels, Mapping) else dict(str(x).split("=", 1) for x in labels)
        if STREAMS_LABEL in labels and routed_by_traefik(labels, exposed):
            found.append((name, parse_streams(labels[STREAMS_LABEL])))
    return found


def _service(config: Mapping[str, Any], named: str | None) -> tuple[str, Mapping[str, Any]]:
    """The Traefik service: the one named, else the project's one."""
    services: Mapping[str, Any] = config.get("services") or {}
    names = [named] if named else [n for n, d in services.items() if is_traefik(dict(d))]
    if named and named not in services:
        raise RolloutInputError(
            f"the compose project has no service {named!r} (it has: {', '.join(sorted(services))})"
        )
    if len(names) != 1 or not is_traefik(dict(services[names[0]])):
        raise RolloutInputError(
            f"name the Traefik service (found: {', '.join(names) or 'none that runs Traefik'})"
        )
    return names[0], services[names[0]]


def cmd_rollout_proxy(args: argparse.Namespace) -> int:
    """Check, then replace the project's Traefik without a gap; the exit status."""
    out: Output = args.output
    target, config = merged_config(args)
    name, data = _service(config, args.service)
    target = target.with_overrides(service=name, project=str(config.get("name") or target.project),
                                   state_dir=state_dir() / "proxy")  # fmt: skip
    out.context.update(command="rollout-proxy", service=name, project=target.project)
    mode = str(data.get("network_mode") or "")
    if not mode.startswith(("service:", "container:")):
        raise RolloutInputError(
            f"{name} has its own network namespace: a second Traefik cannot bind its ports beside it. "
            f"Run it in one another service holds (network_mode: service:anchor): {ANCHOR_DOC}"
        )
    new_flags = flags_of(command(dict(data)))
    problems = reuseport_problems(new_flags)
    if problems:
        raise RolloutInputError(f"the compose files' {name}: {'; '.join(problems)}")
    client = connect()
    running = docker_sdk.service_containers(client, target.project, name)
    if len(running) != 1:
        raise RolloutInputError(f"{name} must run exactly one container to be replaced (runs {len(running)})")
    old_flags = flags_of(running[0].attrs.get("Config", {}).get("Cmd") or [])
    problems = reuseport_problems(old_flags)
    if problems:
        raise RolloutInputError(
            f"the running {running[0].name} was not started with reusePort ({'; '.join(problems)}): "
            "recreate it once with the anchor override (an outage, once); "
            "every replacement after that drops nothing"
        )
    holder = mode.split(":", 1)[1]
    api_url = args.traefik_api or api_url_of(config, holder, new_flags)
    grace = seconds_of(old_flags, "gracetimeout", DEFAULT_GRACE)
    accept = seconds_of(old_flags, "requestacceptgracetimeout", 0.0)
    options = HandoverOptions(routes_timeout=args.timeout, close_timeout=accept + 10.0,
                              exit_timeout=max(1.0, grace - 1.0))  # fmt: skip
    streams = streams_of(config)
    extra = _image_override(target.state_dir, target.project, name, args.image) if args.image else []
    image = args.image or str(data.get("image", ""))
    out.say(
        f"rollout-proxy: {running[0].name} -> a second {name} from {image}, in {holder}'s network namespace"
    )
    signalled = ", ".join(f"{s} ({sig})" for s, sig in streams) or "no service declares one"
    out.say(f"rollout-proxy: API {api_url}; old graceTimeOut {grace:g}s, requestAcceptGraceTimeout "
            f"{accept:g}s; streams signal to: {signalled}")  # fmt: skip
    if args.dry_run:
        out.say("rollout-proxy: dry run: nothing was changed")
        return out.result(EXIT_OK)
    platform = DockerProxyPlatform(client, target, api_url, streams, extra)
    interrupt = Interrupt()
    with (
        rollout_lock(target.state_dir, target.project, f"zerodrop rollout-proxy {name}"),
        signals_to(interrupt),
    ):
        try:
            result = hand_over(platform, options, lambda line: out.say(f"rollout-proxy: {line}"), interrupt)
        except HandoverStopped as stopped:
            out.error(f"zerodrop: rollout-proxy: {stopped}", "HandoverStopped", stopped.exit_code)
            return _said(stopped.result, out)
        except ComposeError as error:
            raise RolloutInputError(
                f"compose could not start the second {name}: {first_line(error)}"
            ) from None
    if args.image:
        out.say(f"rollout-proxy: the compose files still say {data.get('image')}: change them to "
                f"{args.image}, or a later `docker compose up -d` recreates {name} (with a gap)")  # fmt: skip
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


def _image_override(directory: Path, project: str, service: str, image: str) -> list[Path]:
    """A compose file of zerodrop's own that sets the service's image, on top of the project's."""
    path = private_dir(directory) / f"proxy-image-{project}-{service}.yml"
    private_write(path, f"services:\n  {service}:\n    image: {image!r}\n")
    return [path]
