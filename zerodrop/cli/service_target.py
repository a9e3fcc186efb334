"""The service a `zerodrop` command targets: compose's own flags, the merged configuration compose
resolves from them, the service's labels, and Traefik's API, put together into a ComposeTarget and
the DockerPlatform that rolls it. Everything that makes a rollout unsafe is refused here, before
anything changes."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx

from zerodrop.adapters import compose, docker_sdk
from zerodrop.adapters.compose_files import default_files
from zerodrop.adapters.compose_service import ServiceSpec, read_service, refusals
from zerodrop.adapters.contract_app import ContractApp
from zerodrop.adapters.docker_platform import DockerPlatform
from zerodrop.adapters.route_check import CheckRequest, check_request
from zerodrop.adapters.traefik_api import masked
from zerodrop.adapters.traefik_routes import (
    PROVIDER,
    Route,
    confirm_route,
    entrypoint_port,
    entrypoint_tls,
    route_from_labels,
)
from zerodrop.errors import ComposeError, RolloutInputError, first_line
from zerodrop.lint.traefik_static import static_of
from zerodrop.rollout.contract import (
    CONTRACTS_HELP,
    DRAIN_LABEL,
    INFLIGHT_LABEL,
    SIGTERM_KIND,
    STREAMS_LABEL,
    TRAEFIK_API_LABEL,
    DrainContract,
    parse_contract,
    parse_inflight,
    parse_streams,
)
from zerodrop.target import ComposeTarget

DEFAULT_TRAEFIK_API = "http://127.0.0.1:8080"
LOOPBACK = {"127.0.0.1", "localhost"}


def add_compose_flags(parser: argparse.ArgumentParser) -> None:
    """`docker compose`'s own flags, meaning what they mean to compose."""
    parser.add_argument(
        "-f", "--file", dest="files", action="append", type=Path, default=[], help="compose file (repeatable)"
    )
    parser.add_argument("-p", "--project-name", help="compose project name")
    parser.add_argument("--project-directory", type=Path, help="compose's project directory")
    parser.add_argument(
        "--env-file", dest="env_files", action="append", type=Path, default=[], help="env file (repeatable)"
    )
    parser.add_argument(
        "--profile", dest="profiles", action="append", default=[], help="profile (repeatable)"
    )


@dataclass(frozen=True)
class ServiceTarget:
    """What a command works on: the target, its platform, and what was found on the way."""

    target: ComposeTarget
    platform: DockerPlatform
    spec: ServiceSpec
    contract: DrainContract
    route: Route
    problems: tuple[str, ...] = ()  # what a rollout would refuse (found when not strict)
    check: CheckRequest | None = None  # the rollout's last request through the entrypoint


def state_dir() -> Path:
    """Where rollout history and locks live: $ZERODROP_STATE_DIR, else $XDG_STATE_HOME/zerodrop,
    else ~/.local/state/zerodrop."""
    if os.environ.get("ZERODROP_STATE_DIR"):
        return Path(os.environ["ZERODROP_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "zerodrop"


def _loopback(url: str, what: str) -> str:
    host = httpx.URL(url).host
    if host not in LOOPBACK:
        raise RolloutInputError(f"{what} {masked(url)}: zerodrop talks to Traefik on 127.0.0.1 only")
    return url.rstrip("/")


def _flag_target(args: argparse.Namespace, service: str) -> ComposeTarget:
    """A target from the flags alone, enough to ask compose for the merged configuration (no
    files when no -f was given: compose then finds them itself)."""
    files = tuple(p.resolve() for p in args.files)
    return ComposeTarget(
        project=args.project_name or "",
        compose_files=files,
        service=service,
        http_port=0,
        api_port=0,
        app_host="",
        replicas=0,
        app_image="",
        up_timeout=300.0,
        state_dir=state_dir(),
        out_dir=Path.cwd(),
        env_files=tuple(p.resolve() for p in args.env_files),
        profiles=tuple(args.profiles),
        project_directory=args.project_directory.resolve() if args.project_directory else None,
    )


def _config(target: ComposeTarget) -> dict[str, Any]:
    """compose's merged configuration; RolloutInputError (exit 2) with compose's own words if it
    cannot read the files."""
    try:
        return compose.config(target)
    except ComposeError as error:
        said = "; ".join(line.strip() for line in error.output.splitlines() if line.strip())
        raise RolloutInputError(f"docker compose config: {said or first_line(error)}") from None


def merged_config(args: argparse.Namespace, service: str = "") -> tuple[ComposeTarget, dict[str, Any]]:
    """The target the compose flags name, and the merged configuration compose resolves from them,
    exactly as `docker compose` with these flags reads it. With no -f, compose finds the files
    (COMPOSE_FILE, the override file, parent folders); the target names them too (for a file of
    zerodrop's own on top), once compose given that list reads the same configuration."""
    flags = _flag_target(args, service)
    config = _config(flags)
    if flags.compose_files:
        return flags, config
    found = default_files(flags.project_directory or Path.cwd())
    named = flags.with_overrides(compose_files=found)
    if not found or _config(named) != config:
        shown = ", ".join(str(p) for p in found) or "none"
        raise RolloutInputError(
            f"compose reads files zerodrop could not name (found: {shown}): pass them with -f"
        )
    return named, config


def _entrypoint_url(client: docker.DockerClient, api_url: str, route: Route) -> str:
    """Traefik's entrypoint for the route, as published on 127.0.0.1 by the container that serves
    Traefik's API (found by the API's own published port)."""
    api_port = httpx.URL(api_url).port or 80
    for container in client.containers.list():
        bindings = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        published = {b.get("HostPort") for binds in bindings.values() if binds for b in binds}
        if str(api_port) not in published:
            continue
        for name in route.entrypoints or ("http",):
            port = entrypoint_port(api_url, name)
            for bind in bindings.get(f"{port}/tcp") or []:
                if bind.get("HostIp") in {"127.0.0.1", "0.0.0.0", ""}:
                    return f"http://127.0.0.1:{bind['HostPort']}"
    raise RolloutInputError(f"no container publishes Traefik's entrypoint {route.entrypoints} on 127.0.0.1")


def route_check(api_url: str, spec: ServiceSpec, route: Route) -> CheckRequest:
    """The last request of a rollout, from the first of the service's routers whose rule can be
    requested (zerodrop.adapters.route_check); RolloutInputError naming the label to add when
    none can."""
    refused: list[RolloutInputError] = []
    for router in route.routers:
        name = router.removesuffix(f"@{PROVIDER}")
        listed = spec.labels.get(f"traefik.http.routers.{name}.entrypoints", "")
        entrypoints = [e.strip() for e in listed.split(",") if e.strip()] or list(route.entrypoints)
        tls = any(entrypoint_tls(api_url, e) for e in entrypoints)
        balancer = route.balancer.removesuffix(f"@{PROVIDER}")
        try:
            return check_request(spec.labels, name, balancer, entrypoint_tls=tls, grace=spec.stop_grace)
        except RolloutInputError as error:
            refused.append(error)
    raise refused[0]


def _control(
    client: docker.DockerClient, spec: ServiceSpec, contract: DrainContract, check: CheckRequest | None
) -> ContractApp:
    """How the rollout reaches the service's replicas: its contract, in-flight endpoint, streams
    signal and last check, as its labels declare them."""
    labels = spec.labels
    return ContractApp(
        client,
        spec.name,
        contract,
        override_dir=state_dir() / "overrides" / spec.project,
        endpoint=parse_inflight(labels[INFLIGHT_LABEL]) if INFLIGHT_LABEL in labels else None,
        helper_image=os.environ.get("ZERODROP_HELPER_IMAGE", "python:3.12-slim"),
        check=check,
        streams_signal=parse_streams(labels[STREAMS_LABEL]) if STREAMS_LABEL in labels else "",
    )


def find_service(
    client: docker.DockerClient, args: argparse.Namespace, *, strict: bool = True
) -> ServiceTarget:
    """Resolve the service SERVICE of the flags' project: its configuration, drain contract, route
    and platform; RolloutInputError (nothing changed) for anything that makes it unsafe to roll,
    unless not `strict` (for a look only): then those are the target's `problems`."""
    flags, config = merged_config(args, args.service)
    spec = read_service(config, args.service)
    problems = refusals(spec)
    if problems and strict:
        raise RolloutInputError(f"service {spec.name!r} cannot be rolled safely: {'; '.join(problems)}")
    declared = getattr(args, "drain", None) or spec.labels.get(DRAIN_LABEL)
    if not declared and strict:
        raise RolloutInputError(f"service {spec.name!r} has no drain contract: {CONTRACTS_HELP}")
    if not declared:
        problems.append(f"no drain contract: {CONTRACTS_HELP}")
    # Without one (a look only), a replica's phase comes from its health alone.
    contract = parse_contract(declared) if declared else DrainContract(SIGTERM_KIND)
    api_url = _loopback(
        args.traefik_api or spec.labels.get(TRAEFIK_API_LABEL) or DEFAULT_TRAEFIK_API, "Traefik's API"
    )
    exposed = static_of(config.get("services") or {}).exposed_by_default
    route = confirm_route(api_url, route_from_labels(spec.name, spec.project, spec.labels, exposed))
    try:
        check = route_check(api_url, spec, route)
    except RolloutInputError as error:
        if strict:
            raise
        problems.append(str(error))
        check = None
    running = docker_sdk.replicas(client, spec.project, spec.name)
    target = ComposeTarget(
        **{
            **flags.__dict__,
            "project": spec.project,
            "state_dir": state_dir() / "services" / spec.name,  # history and lock per service of a project
            "http_port": 0,
            "api_port": httpx.URL(api_url).port or 80,
            "app_host": route.host or "",
            "replicas": spec.replicas or len(running) or 1,
            "router_name": route.routers[0],
            "balancer_name": route.balancer,
            "traefik_api": api_url,
            "entrypoint_url": _entrypoint_url(client, api_url, route),
        }
    )
    platform = DockerPlatform(client, target, _control(client, spec, contract, check))
    return ServiceTarget(target, platform, spec, contract, route, tuple(problems), check)
