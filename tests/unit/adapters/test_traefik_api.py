"""Traefik's API, whatever it answers: a 5xx, a body that is not JSON, or JSON of another shape is
one line and a TraefikUnavailable (which the rollout's waits retry), never a traceback; a password
in the API's URL never appears in a message. Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.http_answers import answering
from zerodrop.adapters.traefik_api import masked, routed_ips, router_doc
from zerodrop.adapters.traefik_routes import Route, confirm_route
from zerodrop.errors import TraefikUnavailable

ANSWERS = {
    "/api/http/services/five@docker": (500, b"internal error"),
    "/api/http/services/html@docker": (200, b"<html>not json</html>"),
    "/api/http/services/list@docker": (200, b"[1, 2, 3]"),
    "/api/http/services/odd@docker": (200, b'{"loadBalancer": {"servers": "none"}}'),
    "/api/http/routers/list@docker": (200, b"[]"),
}


@pytest.fixture
def api() -> Iterator[str]:
    with answering(lambda path: ANSWERS.get(path, (404, b"404 page not found"))) as port:
        yield f"http://admin:s3cret@127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("service", "said"), [("five", "answered 500"), ("html", "not JSON"), ("list", "another shape")]
)
def test_an_answer_that_is_no_service_document_is_one_line_and_transient(api, service, said):
    with pytest.raises(TraefikUnavailable) as caught:
        routed_ips(api, f"{service}@docker")
    message = str(caught.value)
    assert said in message and "\n" not in message
    assert "s3cret" not in message and "admin:***@" in message


def test_servers_of_another_shape_are_no_servers_and_a_router_list_is_refused(api):
    assert routed_ips(api, "odd@docker") == set()
    with pytest.raises(TraefikUnavailable, match="another shape"):
        router_doc(api, "list@docker")


def test_confirming_a_route_on_a_broken_api_says_so_in_one_line_with_the_password_masked(api):
    with pytest.raises(TraefikUnavailable) as caught:
        confirm_route(api, Route(("list@docker",), "five@docker", None, ()))
    assert "s3cret" not in str(caught.value)


def test_masked_hides_only_the_password():
    assert masked("http://admin:s3cret@127.0.0.1:8080") == "http://admin:***@127.0.0.1:8080"
    assert masked("http://admin:s3cret@127.0.0.1:abc") == "http://admin:***@127.0.0.1:abc"
    assert masked("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
