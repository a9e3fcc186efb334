"""Traefik's API, as the source of truth for which servers receive traffic: by URL (on 127.0.0.1),
or inside its container (`container:NAME[:PORT]`, zerodrop.adapters.traefik_relay)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from zerodrop.adapters.traefik_relay import container_api, relay_get
from zerodrop.errors import RolloutInputError, TraefikUnavailable
from zerodrop.target import TraefikEndpoints


def masked(url: str) -> str:
    """A URL fit to print: a password in it becomes *** (in a URL that does not parse too)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1:***@", url)
    if not parsed.password:
        return url
    return str(parsed.copy_with(username=parsed.username, password="***"))


def _get(api_url: str, path: str, timeout: float) -> tuple[int, bytes]:
    """GET a path of the API, by URL or inside its container: status and body."""
    inside = container_api(api_url)
    if inside is not None:
        return relay_get(inside, path, timeout)
    try:
        response = httpx.get(f"{api_url.rstrip('/')}{path}", timeout=timeout)
    except httpx.HTTPError as error:
        raise TraefikUnavailable(
            f"Traefik's API at {masked(api_url)} does not answer: {type(error).__name__} {error}"
        ) from None
    return response.status_code, response.content


def api_json(api_url: str, path: str, timeout: float = 3.0) -> Any:
    """GET a path of Traefik's API and its JSON; None for a 404 (it has no such thing). Anything
    else that is not a 2xx answer with JSON (no answer, a 5xx, a body that is not JSON) is one
    line, a TraefikUnavailable, with any password in the URL masked; 401 and 403 are
    RolloutInputError (the URL needs user:password@)."""
    shown = masked(api_url)
    status, body = _get(api_url, path, timeout)
    if status == 404:
        return None
    if status in (401, 403):
        raise RolloutInputError(
            f"Traefik's API at {shown} refused us ({status}): put user:password@ in --traefik-api"
        )
    if not 200 <= status < 300:
        raise TraefikUnavailable(f"Traefik's API at {shown} answered {status} for {path}")
    try:
        return json.loads(body)
    except ValueError:
        raise TraefikUnavailable(
            f"Traefik's API at {shown} answered {path} with something that is not JSON"
        ) from None


def api_object(api_url: str, path: str, timeout: float = 3.0) -> dict[str, Any] | None:
    """api_json for a path whose answer is one JSON object; TraefikUnavailable for another shape."""
    doc = api_json(api_url, path, timeout)
    if doc is not None and not isinstance(doc, dict):
        raise TraefikUnavailable(
            f"Traefik's API at {masked(api_url)} answered {path} with JSON of another shape"
        )
    return doc


def server_urls(service_doc: dict[str, Any]) -> set[str]:
    """The server URLs of one HTTP service document from Traefik's API (entries of another shape
    are no servers)."""
    balancer = service_doc.get("loadBalancer")
    servers = balancer.get("servers") if isinstance(balancer, dict) else None
    if not isinstance(servers, list):
        return set()
    return {str(server["url"]) for server in servers if isinstance(server, dict) and "url" in server}


def server_ip(url: str) -> str:
    """The host part of a server URL such as http://172.18.0.3:8000."""
    return httpx.URL(url).host


def routed_ips(api_url: str, service: str, timeout: float = 3.0) -> set[str]:
    """IPs of the servers Traefik's load balancer for `service` (e.g. app@docker) sends to now.

    An absent service (no healthy replica at all) gives an empty set."""
    doc = api_object(api_url, f"/api/http/services/{service}", timeout)
    return set() if doc is None else {server_ip(url) for url in server_urls(doc)}


def router_doc(api_url: str, router: str, timeout: float = 3.0) -> dict[str, Any] | None:
    """Traefik's document of one HTTP router (e.g. app@docker), None if it has no such router
    (Traefik drops a router whose containers define it differently)."""
    return api_object(api_url, f"/api/http/routers/{router}", timeout)


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
