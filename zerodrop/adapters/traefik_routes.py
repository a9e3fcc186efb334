"""Which of Traefik's routers and load balancers carry a compose service: named from the service's
labels as Traefik's docker provider names them, then confirmed in Traefik's API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zerodrop.adapters.traefik_api import api_object
from zerodrop.errors import RolloutInputError

ROUTER_LABEL = re.compile(r"^traefik\.http\.routers\.([^.]+)\.(.+)$")
SERVICE_LABEL = re.compile(r"^traefik\.http\.services\.([^.]+)\.(.+)$")
HOST_RULE = re.compile(r"Host\(`([^`]+)`\)")
PROVIDER = "docker"


@dataclass(frozen=True)
class Route:
    """The service's routers and load balancer in Traefik's names, the Host its first router
    matches, and the entrypoints its routers listen on."""

    routers: tuple[str, ...]
    balancer: str
    host: str | None
    entrypoints: tuple[str, ...]

    def line(self) -> str:
        """'router web-public@docker -> service web-backend@docker, Host api.example.test'."""
        host = f", Host {self.host}" if self.host else ""
        return f"router {', '.join(self.routers)} -> service {self.balancer}{host}"


def routed_by_traefik(labels: Mapping[str, str], exposed_by_default: bool = True) -> bool:
    """Whether Traefik's docker provider routes a service with these labels: `traefik.enable`
    says, and where it is unset, the provider's exposedByDefault does (true unless set)."""
    enable = labels.get("traefik.enable")
    return exposed_by_default if enable is None else enable.strip().lower() == "true"


def route_from_labels(
    service: str, project: str, labels: Mapping[str, str], exposed_by_default: bool = True
) -> Route:
    """The names Traefik's docker provider gives a service's routers and load balancer: a router
    per `traefik.http.routers.<name>.*`, and the load balancer a router names, else the one the
    labels define, else Traefik's default `<service>-<project>`. RolloutInputError when the
    service defines no router."""
    routers = sorted({m.group(1) for key in labels if (m := ROUTER_LABEL.match(key))})
    if not routed_by_traefik(labels, exposed_by_default):
        why = (
            "traefik.enable is not true"
            if "traefik.enable" in labels
            else ("traefik.enable is unset and Traefik's providers.docker.exposedByDefault is false")
        )
        raise RolloutInputError(
            f"service {service!r} is not routed by Traefik: {why}; label it traefik.enable=true"
        )
    if not routers:
        raise RolloutInputError(
            f"service {service!r} has no Traefik router in its labels (traefik.http.routers.*)"
        )
    named = {
        labels[f"traefik.http.routers.{r}.service"]
        for r in routers
        if f"traefik.http.routers.{r}.service" in labels
    }
    defined = sorted({m.group(1) for key in labels if (m := SERVICE_LABEL.match(key))})
    if len(named) > 1:
        raise RolloutInputError(
            f"service {service!r}: its routers name several load balancers {sorted(named)}"
        )
    balancer = named.pop() if named else defined[0] if len(defined) == 1 else f"{service}-{project}"
    rule = labels.get(f"traefik.http.routers.{routers[0]}.rule", "")
    host = match.group(1) if (match := HOST_RULE.search(rule)) else None
    entrypoints = sorted(
        {
            e.strip()
            for r in routers
            for e in labels.get(f"traefik.http.routers.{r}.entrypoints", "").split(",")
            if e.strip()
        }
    )
    return Route(
        tuple(f"{r}@{PROVIDER}" for r in routers), f"{balancer}@{PROVIDER}", host, tuple(entrypoints)
    )


def _get(api_url: str, path: str) -> dict[str, Any] | None:
    return api_object(api_url, path, timeout=5.0)


def confirm_route(api_url: str, route: Route) -> Route:
    """The route as Traefik's API has it: every router and the load balancer must exist there
    (RolloutInputError names what is missing; TraefikUnavailable if the API does not answer)."""
    missing = [r for r in route.routers if _get(api_url, f"/api/http/routers/{r}") is None]
    if missing:
        raise RolloutInputError(
            f"Traefik's API has no router {', '.join(missing)}: is the service running and enabled?"
        )
    if _get(api_url, f"/api/http/services/{route.balancer}") is None:
        raise RolloutInputError(
            f"Traefik's API has no service {route.balancer} (the load balancer its router uses)"
        )
    return route


def entrypoint_tls(api_url: str, name: str) -> bool:
    """Whether Traefik's entrypoint terminates TLS for every router on it (`http.tls` set)."""
    doc = _get(api_url, f"/api/entrypoints/{name}") or {}
    return bool((doc.get("http") or {}).get("tls"))


def entrypoint_port(api_url: str, name: str) -> int | None:
    """The port Traefik's entrypoint listens on inside its container (':80' -> 80)."""
    doc = _get(api_url, f"/api/entrypoints/{name}")
    address = str((doc or {}).get("address", ""))
    port = address.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else None
