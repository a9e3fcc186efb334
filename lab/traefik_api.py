"""Traefik's API, as the source of truth for which servers receive traffic."""

from __future__ import annotations

from typing import Any

import httpx


class TraefikUnavailable(RuntimeError):
    """Traefik's API does not answer."""


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
