"""Traefik's API inside its container: the `container:NAME[:PORT]` form, and the helper's GET (run
here as the helper runs it, against a real HTTP server on this host's loopback)."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zerodrop.adapters.traefik_relay import GET, ContainerApi, container_api
from zerodrop.cli.service_route import loopback_api
from zerodrop.errors import RolloutInputError


def test_the_container_form_names_a_container_and_a_port():
    assert container_api("container:shop-proxy-1") == ContainerApi("shop-proxy-1", 8080)
    assert container_api("container:proxy:9000") == ContainerApi("proxy", 9000)
    assert container_api("http://127.0.0.1:8080") is None
    assert loopback_api("container:proxy", "Traefik's API") == "container:proxy:8080"


@pytest.mark.parametrize("text", ["container:", "container:-x", "container:proxy:0", "container:proxy:http"])
def test_a_container_form_without_a_name_or_port_is_refused(text):
    with pytest.raises(RolloutInputError):
        container_api(text)


class Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = self.path == "/api/http/services/web@docker"
        body = b'{"loadBalancer": {"servers": []}}' if found else b"404 page not found\n"
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/api/http/services/web@docker", b"200", b'{"loadBalancer": {"servers": []}}'),
        ("/api/nope", b"404", b"404"),
    ],
)
def test_the_helpers_get_prints_the_status_then_the_body(path, status, body):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = str(server.server_address[1])
        done = subprocess.run(
            [sys.executable, "-S", "-c", GET, port, path, "3"], capture_output=True, timeout=30, check=True
        )
    finally:
        server.shutdown()
        server.server_close()
    first, _, rest = done.stdout.partition(b"\n")
    assert first == status and rest.startswith(body)
