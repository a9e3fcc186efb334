"""The last request of a rollout, built from what the service's router declares: its host (v2
lists too), its path (Path, PathPrefix, the healthcheck label, zerodrop.check-path), https with
SNI where the router has TLS, a timeout from the declared longest request, what counts as
answered; and a rule that cannot be requested refused with the label to add."""

from __future__ import annotations

import pytest

from zerodrop.adapters.route_check import check_request, matchers
from zerodrop.errors import RolloutInputError


def labels(rule: str, **more: str) -> dict[str, str]:
    return {"traefik.http.routers.web.rule": rule, **{k.replace("_", "."): v for k, v in more.items()}}


def check(rule: str, extra: dict[str, str] | None = None, *, tls: bool = False, grace: float = 20.0):
    return check_request({**labels(rule), **(extra or {})}, "web", "backend", entrypoint_tls=tls, grace=grace)


@pytest.mark.parametrize(
    ("rule", "host", "path"),
    [
        ("Host(`shop.localhost`)", "shop.localhost", "/"),
        ("Host(`a.test`, `b.test`)", "a.test", "/"),  # v2's list
        ("Host(`a.test`) || Host(`b.test`)", "a.test", "/"),
        ('Host("q.test") && PathPrefix("/api")', "q.test", "/api"),
        ("Host(`a.test`) && Path(`/status`)", "a.test", "/status"),
        ("PathPrefix(`/api`)", "localhost", "/api"),  # no host matcher: any Host matches
        ("Host(`a.test`) && !PathPrefix(`/admin`)", "a.test", "/"),  # a negated matcher is no target
    ],
)
def test_the_request_comes_from_the_rule(rule, host, path):
    found = check(rule)
    assert (found.host, found.path, found.tls) == (host, path, False)


def test_the_healthcheck_path_label_is_the_path_where_the_rule_has_none():
    extra = {"traefik.http.services.backend.loadbalancer.healthcheck.path": "/ping"}
    assert check("Host(`a.test`)", extra).path == "/ping"
    assert check("Host(`a.test`) && PathPrefix(`/api`)", extra).path == "/api"


def test_the_check_labels_win():
    extra = {"zerodrop.check-path": "/ready", "zerodrop.check-host": "x.test", "zerodrop.check-status": "200"}
    found = check("HostRegexp(`^.+\\.test$`)", extra)
    assert (found.host, found.path) == ("x.test", "/ready")
    assert found.accepts(200) and not found.accepts(301)


def test_a_rule_that_matches_hosts_only_by_pattern_is_refused_with_the_label_to_add():
    with pytest.raises(RolloutInputError, match=r"zerodrop\.check-host=HOST"):
        check("HostRegexp(`^.+\\.example\\.com$`)")


def test_tls_on_the_router_or_its_entrypoint_means_https_with_the_certificate_checked_unless_relaxed():
    assert check("Host(`a.test`)", {"traefik.http.routers.web.tls": "true"}).tls
    assert check("Host(`a.test`)", {"traefik.http.routers.web.tls.certresolver": "le"}).tls
    assert check("Host(`a.test`)", tls=True).tls and check("Host(`a.test`)", tls=True).verify
    assert not check("Host(`a.test`)", {"zerodrop.check-insecure": "true"}, tls=True).verify


def test_the_timeout_is_the_declared_longest_request_plus_a_margin_else_the_grace():
    assert check("Host(`a.test`)", {"zerodrop.longest-request": "8s"}).timeout == 13.0
    assert check("Host(`a.test`)", grace=40).timeout == 40.0
    with pytest.raises(RolloutInputError, match="not a duration"):
        check("Host(`a.test`)", {"zerodrop.longest-request": "soon"})


def test_answered_by_default_is_any_status_below_500_but_404_and_the_label_sets_ranges():
    default = check("Host(`a.test`)")
    assert [default.accepts(s) for s in (200, 301, 401, 404, 502)] == [True, True, True, False, False]
    ranged = check("Host(`a.test`)", {"zerodrop.check-status": "200-299, 301"})
    assert [ranged.accepts(s) for s in (204, 301, 302)] == [True, True, False]
    with pytest.raises(RolloutInputError, match="check-status"):
        check("Host(`a.test`)", {"zerodrop.check-status": "ok"})


def test_matchers_reads_both_quotes_and_skips_negations():
    assert matchers('Host(`a`) && !Path("/x") && Method(`GET`)') == [("Host", ["a"]), ("Method", ["GET"])]
