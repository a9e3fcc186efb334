"""What one Traefik process routes, as its API says, and which process said it: two Traefiks
bound to the same ports with reusePort answer on one API address, the kernel handing each new
connection to either, so every answer carries the `startDate` of the process that gave it
(`/api/version`). Pure: built from the API's documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Routing:
    """A Traefik's HTTP routers (name: rule and status) and services (name: server URLs), those it
    defines itself (`@internal`) left out."""

    routers: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    services: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def missing_in(self, other: Routing) -> list[str]:
        """What this routing has that `other` lacks or has otherwise, one phrase each; [] when
        `other` routes everything this one does, the same way."""
        lacks: list[str] = []
        for name, (rule, status) in sorted(self.routers.items()):
            theirs = other.routers.get(name)
            if theirs is None:
                lacks.append(f"router {name}")
            elif theirs[0] != rule:
                lacks.append(f"router {name} with rule {rule} (has {theirs[0]})")
            elif status == "enabled" and theirs[1] != "enabled":
                lacks.append(f"router {name} enabled (is {theirs[1]})")
        for name, servers in sorted(self.services.items()):
            if other.services.get(name) != servers:
                lacks.append(f"service {name} with {len(servers)} server(s) {sorted(servers)}")
        return lacks

    def line(self) -> str:
        """'3 routers, 2 services with 4 servers'."""
        servers = sum(len(s) for s in self.services.values())
        return f"{len(self.routers)} router(s), {len(self.services)} service(s) with {servers} server(s)"


@dataclass(frozen=True)
class Answer:
    """One answer of Traefik's API: the process that gave it (its start date) and its routing."""

    started: str
    routing: Routing


def _own(doc: Mapping[str, Any]) -> bool:
    name = str(doc.get("name", ""))
    return bool(name) and not name.endswith("@internal")


def routing_of(routers: Any, services: Any) -> Routing:
    """The Routing in the lists `/api/http/routers` and `/api/http/services` answer (entries of
    another shape left out)."""
    router_docs = [d for d in routers if isinstance(d, dict) and _own(d)] if isinstance(routers, list) else []
    service_docs = (
        [d for d in services if isinstance(d, dict) and _own(d)] if isinstance(services, list) else []
    )
    found_routers = {str(d["name"]): (str(d.get("rule", "")), str(d.get("status", ""))) for d in router_docs}
    found_services: dict[str, frozenset[str]] = {}
    for doc in service_docs:
        balancer = doc.get("loadBalancer")
        servers = balancer.get("servers") if isinstance(balancer, dict) else None
        if isinstance(servers, list):
            found_services[str(doc["name"])] = frozenset(
                str(s["url"]) for s in servers if isinstance(s, dict) and "url" in s
            )
    return Routing(found_routers, found_services)
