"""The app's streams on a real uvicorn (in a thread, on a loopback port): consecutive ids on the
shared clock, resuming from an id with no gap and no duplicate on SSE and WebSocket, the goodbye
after SIGHUP's end of streams (an SSE event with a retry hint, WebSocket close 1012), and an SSE
client that ignores the goodbye cut by the app after its linger, and counted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from zerodrop_app.settings import AppSettings

from tests.unit.serving import RunningApp, app_in_thread
from zerodrop.waits import wait_for


@pytest.fixture
def app(tmp_path: Path) -> Iterator[RunningApp]:
    settings = AppSettings(version="v7", replica="r-s", shutdown_work_seconds=0.0, data_dir=tmp_path)
    with app_in_thread(AppSettings(**{**settings.__dict__, "stream_linger": 0.5})) as running:
        yield running


def lines_of(response: httpx.Response) -> Iterator[str]:
    """The response's lines, split here (httpx's iter_lines loses blank lines across chunks)."""
    buffer = ""
    for text in response.iter_text():
        buffer += text
        *complete, buffer = buffer.split("\n")
        yield from complete


def sse_events(lines: Iterator[str], count: int) -> list[dict[str, object]]:
    """The next `count` SSE events (fields of each) from a line iterator, or up to a goodbye."""
    events: list[dict[str, object]] = []
    fields: dict[str, object] = {}
    for line in lines:
        if not line:
            if fields:
                events.append(fields)
                fields = {}
            if len(events) == count or (events and events[-1].get("event") == "goodbye"):
                return events
            continue
        name, _, value = line.partition(": ")
        fields[name] = value
    return events


def stats(app: RunningApp) -> dict[str, int]:
    answer: dict[str, int] = httpx.get(f"{app.url}/stats", timeout=5).json()
    return answer


def test_sse_ids_are_consecutive_and_a_resume_continues_after_the_last_id(app):
    with httpx.stream("GET", f"{app.url}/stream", timeout=5) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = lines_of(response)  # kept: a collected generator would close the response
        first = sse_events(lines, 4)
        now = stats(app)
        assert now["streams"] == 1 and now["inflight"] >= 1, "a stream is in-flight work"
    ids = [int(str(e["id"])) for e in first]
    assert ids == list(range(ids[0], ids[0] + 4))
    assert json.loads(str(first[0]["data"]))["replica"] == "r-s"
    resume_from = ids[-1] - 10  # ten ticks back: the replica replays them at once
    with httpx.stream(
        "GET", f"{app.url}/stream", headers={"Last-Event-ID": str(resume_from)}, timeout=5
    ) as response:
        again = [int(str(e["id"])) for e in sse_events(lines_of(response), 12)]
    assert again == list(range(resume_from + 1, resume_from + 13))


def test_end_of_streams_says_goodbye_with_a_retry_hint_and_the_client_that_leaves_is_not_cut(app):
    with httpx.stream("GET", f"{app.url}/stream", timeout=5) as response:
        lines = lines_of(response)
        sse_events(lines, 2)
        app.server.request_end_streams()
        events = sse_events(lines, 30)
        goodbye = events[-1]
    assert goodbye["event"] == "goodbye" and goodbye["retry"] == "100"
    assert json.loads(str(goodbye["data"]))["reconnect"] is True
    wait_for(lambda: stats(app)["streams"] == 0, what="the stream to end", timeout=5, interval=0.05)
    assert (stats(app)["streams_ended"], stats(app)["streams_cut"]) == (1, 0)


def test_an_sse_client_that_ignores_the_goodbye_is_cut_after_the_linger_and_counted(app):
    with httpx.stream("GET", f"{app.url}/stream", timeout=5) as response:
        lines = lines_of(response)
        sse_events(lines, 1)
        app.server.request_end_streams()
        rest = list(lines)  # keeps reading: only the app can end it now
    assert any(line == "event: goodbye" for line in rest)
    assert (stats(app)["streams_ended"], stats(app)["streams_cut"], stats(app)["streams"]) == (1, 1, 0)


def test_websocket_resumes_after_an_id_and_closes_with_1012_on_the_end_of_streams(app):
    ws_url = app.url.replace("http://", "ws://") + "/ws"
    with connect(ws_url, open_timeout=5) as socket:
        socket.send(json.dumps({"resume": None}))
        first = [json.loads(socket.recv(timeout=5))["id"] for _ in range(3)]
    assert first == list(range(first[0], first[0] + 3))
    with connect(ws_url, open_timeout=5) as socket:
        socket.send(json.dumps({"resume": first[-1]}))
        assert json.loads(socket.recv(timeout=5))["id"] == first[-1] + 1
        app.server.request_end_streams()
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                socket.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    wait_for(lambda: stats(app)["streams"] == 0, what="the socket to end", timeout=5, interval=0.05)
