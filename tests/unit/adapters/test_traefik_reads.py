"""One read of Traefik's API shared by rollouts side by side: callers within `max_age` share a list
read, callers that come while it is under way wait for it, a name the list lacks is asked by
itself (absent, or on a page further). Against a real HTTP server on 127.0.0.1 that counts what
it is asked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.unit.http_answers import answering
from zerodrop.adapters.traefik_reads import SharedReads

SERVICES = [
    {"name": "web@docker", "loadBalancer": {"servers": [{"url": "http://10.0.0.2:8000"}]}},
    {"name": "api@docker", "loadBalancer": {"servers": [{"url": "http://10.0.0.3:8000"}]}},
]
LATER = {"name": "later@docker", "loadBalancer": {"servers": [{"url": "http://10.0.0.9:8000"}]}}


@pytest.fixture
def api() -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []

    def answer(path: str) -> tuple[int, bytes]:
        asked.append(path)
        time.sleep(0.1)  # a read that takes a while, so that callers meet while it is under way
        if path.startswith("/api/http/services?"):
            return 200, json.dumps(SERVICES).encode()
        if path == "/api/http/services/later@docker":
            return 200, json.dumps(LATER).encode()
        return 404, b"404 page not found"

    with answering(answer) as port:
        yield f"http://127.0.0.1:{port}", asked


def test_rollouts_checking_at_once_share_one_read(api):
    url, asked = api
    shared = SharedReads(url, max_age=5)
    with ThreadPoolExecutor(8) as pool:
        docs = list(pool.map(lambda n: shared.doc("services", n), ["web@docker", "api@docker"] * 4))
    assert [d["name"] for d in docs if d] == ["web@docker", "api@docker"] * 4
    assert asked == ["/api/http/services?per_page=1000"], "eight checks, one read"
    assert (shared.reads, shared.answers) == (1, 8)


def test_a_list_older_than_max_age_is_read_again(api):
    url, asked = api
    shared = SharedReads(url, max_age=0)
    shared.doc("services", "web@docker")
    shared.doc("services", "api@docker")
    assert len(asked) == 2 and shared.reads == 2


def test_a_name_the_list_lacks_is_asked_by_itself_and_absent_is_none(api):
    url, asked = api
    shared = SharedReads(url, max_age=5)
    assert shared.doc("services", "later@docker") == LATER
    assert shared.doc("routers", "gone@docker") is None
    assert asked[1] == "/api/http/services/later@docker"
    assert asked[-1] == "/api/http/routers/gone@docker"
