"""Where a `zerodrop` command finds Traefik for a service: its API (on 127.0.0.1 only), the
entrypoint the Traefik container publishes there, and the last check its router declares."""

from __future__ import annotations

import docker
import httpx

from zerodrop.adapters.compose_service import ServiceSpec
from zerodrop.adapters.route_check import CheckRequest, check_request
from zerodrop.adapters.traefik_api import masked
from zerodrop.adapters.traefik_relay import container_api
from zerodrop.adapters.traefik_routes import PROVIDER, Route, entrypoint_port, entrypoint_tls
from zerodrop.errors import RolloutInputError

DEFAULT_TRAEFIK_API = "http://127.0.0.1:8080"
LOOPBACK = {"127.0.0.1", "localhost"}


def loopback_api(url: str, what: str) -> str:
    """The URL, if it is http(s) to 127.0.0.1 with a port that can be, or the container form
    `container:NAME[:PORT]` (zerodrop.adapters.traefik_relay); RolloutInputError else."""
    inside = container_api(url)
    if inside is not None:
        return str(inside)
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError):
        raise RolloutInputError(f"{what} {masked(url)}: not a URL (e.g. http://127.0.0.1:8080)") from None
    if parsed.scheme not in ("http", "https"):
        raise RolloutInputError(
            f"{what} {masked(url)}: zerodrop speaks http or https to it, not {parsed.scheme or 'nothing'}"
        )
    if port is not None and not 0 < port < 65536:
        raise RolloutInputError(f"{what} {masked(url)}: {port} is not a port")
    host = parsed.host
    if host not in LOOPBACK:
        raise RolloutInputError(f"{what} {masked(url)}: zerodrop talks to Traefik on 127.0.0.1 only")
    return url.rstrip("/")


def entrypoint_url(client: docker.DockerClient, api_url: str, route: Route) -> str:
    """Traefik's entrypoint for the route, as published on 127.0.0.1 by the container that serves
    Traefik's API (the one the container form names, else found by the API's published port)."""
    inside = container_api(api_url)
    api_port = None if inside else httpx.URL(api_url).port or 80
    for container in client.containers.list():
        bindings = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        published = {b.get("HostPort") for binds in bindings.values() if binds for b in binds}
        if inside is not None and inside.name not in (container.name, container.id):
            continue
        if inside is None and str(api_port) not in published:
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
