"""The service a `zerodrop` command targets: the merged configuration compose resolves from its
flags (zerodrop.cli.compose_flags), the service's labels, and Traefik (zerodrop.cli.service_route),
put together into a ComposeTarget and the DockerPlatform that rolls it. Everything that makes a
rollout unsafe is refused here, before anything changes."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import docker
import httpx

from zerodrop.adapters import docker_sdk
from zerodrop.adapters.compose_service import ServiceSpec, read_service, refusals
from zerodrop.adapters.contract_app import ContractApp
from zerodrop.adapters.docker_platform import DockerPlatform
from zerodrop.adapters.docker_sdk import connect
from zerodrop.adapters.drain_records import DrainRecords
from zerodrop.adapters.engine_lock import engine_lock
from zerodrop.adapters.route_check import CheckRequest
from zerodrop.adapters.traefik_relay import container_api
from zerodrop.adapters.traefik_routes import (
    Route,
    confirm_route,
    route_from_labels,
)
from zerodrop.cli.compose_flags import merged_config, state_dir
from zerodrop.cli.service_route import DEFAULT_TRAEFIK_API, entrypoint_url, loopback_api, route_check
from zerodrop.errors import RolloutInputError
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
        **({"check": check} if check is not None else {}),  # none: a look only, nothing will check
        streams_signal=parse_streams(labels[STREAMS_LABEL]) if STREAMS_LABEL in labels else "",
        records=DrainRecords(state_dir() / "services" / spec.name / f"{spec.project}.drains.json"),
    )


def held_on_the_engine(found: ServiceTarget, purpose: str) -> AbstractContextManager[None]:
    """The service's lock on its engine (zerodrop.adapters.engine_lock), made from the image its
    replicas run: every client of that engine sees it, whatever its $HOME."""
    images = [r.image for r in found.platform.replicas()] or [found.spec.image]
    return engine_lock(found.platform.client, found.spec.project, found.spec.name, images[0], purpose)


def _contract(
    args: argparse.Namespace, spec: ServiceSpec, problems: list[str], *, strict: bool
) -> DrainContract:
    """The drain contract `--drain` or the label declares; without one, RolloutInputError, or
    for a look only (not `strict`) a problem, and the phase of a replica comes from its health."""
    declared = getattr(args, "drain", None) or spec.labels.get(DRAIN_LABEL)
    if not declared and strict:
        raise RolloutInputError(f"service {spec.name!r} has no drain contract: {CONTRACTS_HELP}")
    if not declared:
        problems.append(f"no drain contract: {CONTRACTS_HELP}")
    return parse_contract(declared) if declared else DrainContract(SIGTERM_KIND)


def find_service(
    args: argparse.Namespace, *, strict: bool = True, engine: Callable[[], docker.DockerClient] = connect
) -> ServiceTarget:
    """Resolve the service SERVICE of the flags' project: its configuration, drain contract, route
    and platform; RolloutInputError (nothing changed) for anything that makes it unsafe to roll,
    unless not `strict` (for a look only): then those are the target's `problems`. Every input is
    checked before the engine is asked (`engine` connects to it)."""
    if args.traefik_api:
        loopback_api(args.traefik_api, "Traefik's API")
    flags, config = merged_config(args, args.service)
    spec = read_service(config, args.service)
    problems = refusals(spec)
    if problems and strict:
        raise RolloutInputError(f"service {spec.name!r} cannot be rolled safely: {'; '.join(problems)}")
    contract = _contract(args, spec, problems, strict=strict)
    api_url = loopback_api(
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
    client = engine()
    running = docker_sdk.replicas(client, spec.project, spec.name)
    target = ComposeTarget(
        **{
            **flags.__dict__,
            "project": spec.project,
            "state_dir": state_dir() / "services" / spec.name,  # history and lock per service of a project
            "http_port": 0,
            "api_port": 0 if container_api(api_url) else httpx.URL(api_url).port or 80,
            "app_host": route.host or "",
            "replicas": spec.replicas or len(running) or 1,
            "router_name": route.routers[0],
            "balancer_name": route.balancer,
            "traefik_api": api_url,
            "entrypoint_url": entrypoint_url(client, api_url, route),
        }
    )
    platform = DockerPlatform(client, target, _control(client, spec, contract, check))
    return ServiceTarget(target, platform, spec, contract, route, tuple(problems), check)
