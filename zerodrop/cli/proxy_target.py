"""What `zerodrop rollout-proxy` works on, read and checked before anything changes: the Traefik
service of the compose project, its running container, its API, the routed services whose streams
it hands over, and the deadlines its flags give. Anything that cannot go is one line and exit 2."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from zerodrop.adapters import docker_sdk
from zerodrop.adapters.compose_file import command, is_traefik
from zerodrop.adapters.compose_service import read_service
from zerodrop.adapters.docker_sdk import connect
from zerodrop.adapters.proxy_platform import DockerProxyPlatform
from zerodrop.adapters.traefik_routes import routed_by_traefik
from zerodrop.cli.compose_flags import merged_config, state_dir
from zerodrop.cli.service_route import loopback_api
from zerodrop.errors import RolloutInputError
from zerodrop.lint.traefik_static import static_of
from zerodrop.private_files import private_dir, private_write
from zerodrop.proxy.handover import HandoverOptions
from zerodrop.proxy.traefik_flags import DEFAULT_GRACE, flags_of, reuseport_problems, seconds_of
from zerodrop.rollout.contract import STREAMS_LABEL, parse_streams

ANCHOR_DOC = "docs/proxy-rollout.md (docker-compose.proxy-anchor.yml)"


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
    labels = {name: read_service(config, name).labels for name in sorted(services)}
    return [
        (name, parse_streams(mine[STREAMS_LABEL]))
        for name, mine in labels.items()
        if STREAMS_LABEL in mine and routed_by_traefik(mine, exposed)
    ]


def _service(config: Mapping[str, Any], named: str | None) -> tuple[str, Mapping[str, Any]]:
    """The Traefik service: the one named (RolloutInputError if the project has none so named),
    else the project's one."""
    services: Mapping[str, Any] = config.get("services") or {}
    if named:
        read_service(config, named)
    names = [named] if named else [n for n, d in services.items() if is_traefik(dict(d))]
    if len(names) != 1 or not is_traefik(dict(services[names[0]])):
        raise RolloutInputError(
            f"name the Traefik service (found: {', '.join(names) or 'none that runs Traefik'})"
        )
    return names[0], services[names[0]]


@dataclass
class Prepared:
    """A proxy rollout checked and ready: what it works on, and the lines that say so."""

    platform: DockerProxyPlatform
    name: str
    options: HandoverOptions
    lines: list[str]
    compose_image: str


def _running(client: docker.DockerClient, project: str, name: str) -> tuple[str, dict[str, str]]:
    """The one running container of the Traefik service and its flags, which must bind with reusePort."""
    running = docker_sdk.service_containers(client, project, name)
    if len(running) != 1:
        raise RolloutInputError(f"{name} must run exactly one container to be replaced (runs {len(running)})")
    old_flags = flags_of(running[0].attrs.get("Config", {}).get("Cmd") or [])
    if problems := reuseport_problems(old_flags):
        raise RolloutInputError(
            f"the running {running[0].name} was not started with reusePort ({'; '.join(problems)}): "
            "recreate it once with the anchor override (an outage, once); "
            "every replacement after that drops nothing"
        )
    return running[0].name or "", old_flags


def _checked_api(url: str | None) -> str | None:
    """--traefik-api as given, checked (a URL on 127.0.0.1)."""
    if url and url.startswith("container:"):
        raise RolloutInputError(
            "--traefik-api container:...: inside the shared namespace both Traefiks answer there; "
            "give the API's URL on 127.0.0.1"
        )
    return loopback_api(url, "Traefik's API") if url else None


def prepare(args: argparse.Namespace, found: Callable[[str, str], None] = lambda *_: None) -> Prepared:
    """Everything checked before anything changes; RolloutInputError (exit 2) for what cannot go."""
    api_given = _checked_api(args.traefik_api)
    target, config = merged_config(args)
    name, data = _service(config, args.service)
    target = target.with_overrides(service=name, project=str(config.get("name") or target.project),
                                   state_dir=state_dir() / "proxy")  # fmt: skip
    found(name, target.project)
    mode = str(data.get("network_mode") or "")
    if not mode.startswith(("service:", "container:")):
        raise RolloutInputError(
            f"{name} has its own network namespace: a second Traefik cannot bind its ports beside it. "
            f"Run it in one another service holds (network_mode: service:anchor): {ANCHOR_DOC}"
        )
    new_flags = flags_of(command(dict(data)))
    if problems := reuseport_problems(new_flags):
        raise RolloutInputError(f"the compose files' {name}: {'; '.join(problems)}")
    client = connect()
    old_name, old_flags = _running(client, target.project, name)
    holder = mode.split(":", 1)[1]
    api_url = api_given or api_url_of(config, holder, new_flags)
    grace = seconds_of(old_flags, "gracetimeout", DEFAULT_GRACE)
    accept = seconds_of(old_flags, "requestacceptgracetimeout", 0.0)
    streams = streams_of(config)
    extra = _image_override(target.state_dir, target.project, name, args.image) if args.image else []
    signalled = ", ".join(f"{s} ({sig})" for s, sig in streams) or "no service declares one"
    lines = [
        f"{old_name} -> a second {name} from {args.image or data.get('image')}, in {holder}'s netns",
        f"API {api_url}; old graceTimeOut {grace:g}s, requestAcceptGraceTimeout {accept:g}s; "
        f"streams signal to: {signalled}",
    ]
    options = HandoverOptions(args.timeout, close_timeout=accept + 10.0, exit_timeout=max(1.0, grace - 1.0))
    platform = DockerProxyPlatform(client, target, api_url, streams, extra)
    return Prepared(platform, name, options, lines, str(data.get("image", "")))


def _image_override(directory: Path, project: str, service: str, image: str) -> list[Path]:
    """A compose file of zerodrop's own that sets the service's image, on top of the project's."""
    path = private_dir(directory) / f"proxy-image-{project}-{service}.yml"
    private_write(path, f"services:\n  {service}:\n    image: {image!r}\n")
    return [path]
