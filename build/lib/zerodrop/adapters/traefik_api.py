"""Traefik's API, as the source of truth for which servers receive traffic."""

from __future__ import annotations

from typing import Any

import httpx

from zerodrop.errors import TraefikUnavailable
from zerodrop.target import TraefikEndpoints


def server_urls(service_doc: dict[str, Any]) -> set[str]:
    """The server URLs of one HTTP service document from Traefik's API."""
    servers = (service_doc.get("loadBalancer") or {}).get("servers") or []
    return {str(server["url"]) for server in servers if "url" in server}


def server_ip(url: str) -> str:
    """The host part of a server URL such as http://172.18.0.3:8000."""
    return httpx.URL(url).host


def routed_ips(api_url: str, service: str, timeout: float = 3.0) -> set[str]:
    """IPs of the servers Traefik's load balancer for `service` (e.g. app@docker) sends to now.

    An absent service (no healthy replica at all) gives an empty set."""
    try:
        response = httpx.get(f"{api_url}/api/http/services/{service}", timeout=timeout)
    except httpx.HTTPError as error:
        raise TraefikUnavailable(f"Traefik API at {api_url} unreachable: {error}") from None
    if response.status_code == 404:
        return set()
    response.raise_for_status()
    return {server_ip(url) for url in server_urls(response.json())}


def router_doc(api_url: str, router: str, timeout: float = 3.0) -> dict[str, Any] | None:
    """Traefik's document of one HTTP router (e.g. app@docker), None if it has no such router
    (Traefik drops a router whose containers define it differently)."""
    try:
        response = httpx.get(f"{api_url}/api/http/routers/{router}", timeout=timeout)
    except httpx.HTTPError as error:
        raise TraefikUnavailable(f"Traefik API at {api_url} unreachable: {error}") from None
    if response.status_code == 404:
        return None
    response.raise_for_status()
    doc: dict[str, Any] = response.json()
    return doc


def router_problem(doc: dict[str, Any] | None, router: str, expected_rule: str | None) -> str | None:
    """What is wrong with a router's document, None if it routes: it must exist, be enabled,
    carry no error, and, when `expected_rule` is given, still have that rule."""
    if doc is None:
        return f"Traefik has no router {router} (containers that define it differently make it drop it)"
    if doc.get("status") != "enabled":
        return f"Traefik's router {router} is {doc.get('status')}"
    if doc.get("error"):
        return f"Traefik's router {router} has an error: {'; '.join(map(str, doc['error']))[:200]}"
    if expected_rule is not None and doc.get("rule") != expected_rule:
        return f"Traefik's router {router} rule changed from {expected_rule} to {doc.get('rule')}"
    return None


def get_through_traefik(cfg: TraefikEndpoints, path: str, timeout: float = 10) -> httpx.Response:
    """GET a path of the app through Traefik's port on 127.0.0.1, with the app's Host header."""
    return httpx.get(f"{cfg.http_url}{path}", headers={"Host": cfg.app_host}, timeout=timeout)
