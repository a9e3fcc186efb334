"""The rollout's last word on a service: one request through Traefik's entrypoint, built from what
the service's router declares, so that it can pass on any service that serves.

- The path: label `zerodrop.check-path`; else the router's own `Path` or `PathPrefix`; else, for a
  rule with no path matcher, the load balancer's healthcheck path label; else `/`.
- The Host: label `zerodrop.check-host`; else any host of the rule's `Host(...)` (v2-style lists
  too); a rule with no host matcher at all takes any Host. A rule that matches hosts only by
  pattern (`HostRegexp`, `HostSNI`) or by headers cannot be requested this way: refused before
  anything changes, naming the label to add.
- The scheme: https with the Host as SNI when the router has TLS, with the certificate checked
  unless `zerodrop.check-insecure=true`.
- The timeout: the declared longest request (`zerodrop.longest-request`) plus CHECK_MARGIN; else
  the service's stop grace period (no request outlives a stop).
- Answered: any status below 500 but 404 (Traefik itself says 404 when no router matches, 502 to
  504 when no server answers); label `zerodrop.check-status` (e.g. `200`, `200-299,301`) sets the
  accepted statuses instead. Redirects are not followed: a 301 is the service's answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from zerodrop.durations import parse_duration
from zerodrop.errors import RolloutInputError

CHECK_PATH_LABEL = "zerodrop.check-path"
CHECK_HOST_LABEL = "zerodrop.check-host"
CHECK_STATUS_LABEL = "zerodrop.check-status"
CHECK_INSECURE_LABEL = "zerodrop.check-insecure"
LONGEST_REQUEST_LABEL = "zerodrop.longest-request"
CHECK_MARGIN = 5.0  # s a check may take beyond the longest request
ANY_HOST = "localhost"  # the Host sent to a rule that matches any host
DEFAULT_ACCEPTED = "any status below 500 but 404"

_MATCHER = re.compile(r"(!?)\b([A-Za-z]+)\(([^()]*)\)")
_ARGUMENT = re.compile(r"`([^`]*)`|\"([^\"]*)\"")
_UNREQUESTABLE = {
    "HostRegexp",
    "HostSNI",
    "HostSNIRegexp",
    "Header",
    "HeaderRegexp",
    "Headers",
    "HeadersRegexp",
}


@dataclass(frozen=True)
class CheckRequest:
    """The request, its timeout and what counts as answered."""

    router: str
    host: str
    path: str
    tls: bool
    verify: bool
    timeout: float
    accepted: str = ""  # the label's statuses; "" for the default

    def accepts(self, status: int) -> bool:
        """Whether a status counts as the service's answer."""
        if not self.accepted:
            return status < 500 and status != 404
        return any(_in_range(status, part) for part in self.accepted.split(","))

    def expectation(self) -> str:
        """What an answer must be, in words."""
        return self.accepted or DEFAULT_ACCEPTED

    def line(self) -> str:
        """'GET https://shop.localhost/api/ (router web-public@docker, timeout 35s)'."""
        scheme = "https" if self.tls else "http"
        insecure = ", certificate not checked" if self.tls and not self.verify else ""
        return (
            f"GET {scheme}://{self.host}{self.path} (router {self.router}, timeout {self.timeout:g}s"
            f"{insecure}, answered: {self.expectation()})"
        )

    def send(self, entrypoint_port: int) -> httpx.Response:
        """The request, to Traefik's entrypoint on 127.0.0.1 with the Host header (and SNI)."""
        scheme = "https" if self.tls else "http"
        extensions = {"sni_hostname": self.host} if self.tls else {}
        with httpx.Client(verify=self.verify, timeout=self.timeout, follow_redirects=False) as client:
            return client.get(
                f"{scheme}://127.0.0.1:{entrypoint_port}{self.path}",
                headers={"Host": self.host},
                extensions=extensions,
            )


def _in_range(status: int, part: str) -> bool:
    low, _, high = part.strip().partition("-")
    return int(low) <= status <= int(high or low)


def _check_statuses(text: str) -> str:
    """The label's statuses, checked: `200`, `200-299,301`."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    pattern = re.compile(r"^[1-5]\d\d(-[1-5]\d\d)?$")
    if not parts or not all(pattern.match(p) for p in parts):
        raise RolloutInputError(f"{CHECK_STATUS_LABEL}={text!r}: write statuses and ranges, e.g. 200-299,301")
    return ",".join(parts)


def matchers(rule: str) -> list[tuple[str, list[str]]]:
    """The rule's matchers that are not negated, each with its arguments:
    'Host(`a`) && PathPrefix(`/api`)' -> [('Host', ['a']), ('PathPrefix', ['/api'])]."""
    found = []
    for negated, name, args in _MATCHER.findall(rule):
        if not negated:
            found.append((name, [a or b for a, b in _ARGUMENT.findall(args)]))
    return found


def _path(found: list[tuple[str, list[str]]], labels: Mapping[str, str], balancer: str) -> str:
    for name, args in found:
        if name in ("Path", "PathPrefix") and args:
            return args[0]
    key = f"traefik.http.services.{balancer}.loadbalancer.healthcheck.path"
    return labels.get(key) or "/"


def _host(found: list[tuple[str, list[str]]], router: str, rule: str) -> str:
    hosts = [h for name, args in found if name == "Host" for h in args]
    if hosts:
        return hosts[0]
    if any(name in _UNREQUESTABLE for name, _ in found):
        raise RolloutInputError(
            f"router {router}'s rule {rule} names no host zerodrop can send a request to: "
            f"label the service {CHECK_HOST_LABEL}=HOST (and {CHECK_PATH_LABEL}=PATH if / is not served)"
        )
    return ANY_HOST


def _tls(labels: Mapping[str, str], router: str) -> bool:
    prefix = f"traefik.http.routers.{router}.tls"
    if labels.get(prefix, "").lower() == "true":
        return True
    return any(key.startswith(prefix + ".") for key in labels)


def check_timeout(labels: Mapping[str, str], grace: float) -> float:
    """The declared longest request plus CHECK_MARGIN, else the stop grace period."""
    declared = labels.get(LONGEST_REQUEST_LABEL)
    if declared:
        try:
            return parse_duration(declared, 0.0) + CHECK_MARGIN
        except ValueError:
            raise RolloutInputError(
                f"{LONGEST_REQUEST_LABEL}={declared!r} is not a duration (e.g. 30s)"
            ) from None
    return max(grace, 10.0)


def check_request(
    labels: Mapping[str, str], router: str, balancer: str, *, entrypoint_tls: bool, grace: float
) -> CheckRequest:
    """The request that proves `router` (its name in the labels) serves; RolloutInputError, with
    the label to add, when its rule cannot be requested."""
    rule = labels.get(f"traefik.http.routers.{router}.rule", "")
    found = matchers(rule)
    host = labels.get(CHECK_HOST_LABEL) or _host(found, router, rule)
    path = labels.get(CHECK_PATH_LABEL) or _path(found, labels, balancer)
    if not path.startswith("/"):
        raise RolloutInputError(f"{CHECK_PATH_LABEL}={path!r}: a path begins with /")
    accepted = _check_statuses(labels[CHECK_STATUS_LABEL]) if CHECK_STATUS_LABEL in labels else ""
    return CheckRequest(
        router=router,
        host=host,
        path=path,
        tls=entrypoint_tls or _tls(labels, router),
        verify=labels.get(CHECK_INSECURE_LABEL, "").lower() != "true",
        timeout=check_timeout(labels, grace),
        accepted=accepted,
    )
