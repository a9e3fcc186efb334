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


def test_an_https_check_sends_the_host_as_sni_and_checks_the_certificate_unless_relaxed(tmp_path):
    """A real TLS server on 127.0.0.1 with a self-signed certificate for shop.test: the check
    connects to the loopback port, names shop.test in SNI and the Host header; with the
    certificate checked it fails (self-signed), relaxed it gets the answer."""
    import http.server
    import ssl
    import subprocess
    import threading

    import httpx

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=shop.test",
         "-addext", "subjectAltName=DNS:shop.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    seen: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["host"] = self.headers.get("Host", "")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen.__setitem__("sni", name or "")
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        strict = check("Host(`shop.test`)", {"traefik.http.routers.web.tls": "true"})
        with pytest.raises(httpx.ConnectError):
            strict.send(port)
        relaxed = check(
            "Host(`shop.test`)", {"traefik.http.routers.web.tls": "true", "zerodrop.check-insecure": "true"}
        )
        assert relaxed.send(port).status_code == 204
        assert seen == {"sni": "shop.test", "host": "shop.test"}
    finally:
        server.shutdown()
