"""The app's streams on a real uvicorn (in a thread, on a loopback port): consecutive ids on the
shared clock, resuming from an id with no gap and no duplicate on SSE and WebSocket, a retry hint
from the first event, and the standard end after SIGHUP's end of streams: the SSE response ends by
itself after its goodbye, whatever the client does (held open for STREAM_LINGER_SECONDS if set),
and a WebSocket closes with 1012."""

from __future__ import annotations

import json
import time
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
    with app_in_thread(settings) as running:
        yield running


def lines_of(response: httpx.Response) -> Iterator[str]:
    """The response's lines, split here (httpx's iter_lines loses blank lines across chunks)."""
    buffer = ""
    for text in response.iter_text():
        buffer += text
        *complete, buffer = buffer.split("\n")
        yield from complete


def sse_events(lines: Iterator[str], count: int) -> list[dict[str, object]]:
    """The next `count` SSE events (fields of each; a block without data, such as the retry hint,
    is no event) from a line iterator, or up to a goodbye."""
    events: list[dict[str, object]] = []
    fields: dict[str, object] = {}
    for line in lines:
        if not line:
            if "data" in fields:
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


def test_every_stream_carries_the_retry_hint_before_its_first_event(app):
    with httpx.stream("GET", f"{app.url}/stream", timeout=5) as response:
        first = next(lines_of(response))
    assert first == "retry: 100"


def test_end_of_streams_ends_the_response_after_a_goodbye_with_no_client_action(app):
    """The client only reads: the server sends its goodbye and ends the response at a message
    boundary at once (well inside a second), and counts the stream as ended."""
    with httpx.stream("GET", f"{app.url}/stream", timeout=5) as response:
        lines = lines_of(response)
        ids = [int(str(e["id"])) for e in sse_events(lines, 2)]
        began = time.monotonic()
        app.server.request_end_streams()
        rest = list(lines)  # reads to the end: only the server can end it
        took = time.monotonic() - began
    assert rest[-2:] == ["", ""] or rest[-1] == "", "the response ended after a complete event"
    assert "event: goodbye" in rest and took < 1.0, (took, rest[-6:])
    goodbye = json.loads(next(line for line in rest if line.startswith('data: {"reconnect"'))[6:])
    assert goodbye["reconnect"] is True and goodbye["after"] >= ids[-1]
    wait_for(lambda: stats(app)["streams"] == 0, what="the stream to end", timeout=5, interval=0.05)
    assert stats(app)["streams_ended"] == 1 and "streams_cut" not in stats(app)


def test_a_linger_holds_the_response_after_its_goodbye_then_the_server_ends_it(tmp_path: Path):
    settings = AppSettings(replica="r-l", shutdown_work_seconds=0.0, data_dir=tmp_path, stream_linger=0.6)
    with (
        app_in_thread(settings) as running,
        httpx.stream("GET", f"{running.url}/stream", timeout=5) as response,
    ):
        lines = lines_of(response)
        sse_events(lines, 1)
        began = time.monotonic()
        running.server.request_end_streams()
        rest = list(lines)
        took = time.monotonic() - began
    assert "event: goodbye" in rest and 0.6 <= took < 2.0, took


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


def test_on_a_serving_replica_the_end_of_streams_ends_those_open_and_a_new_one_stays(app):
    """A proxy hand-over ends every stream once, so its clients reconnect through the new proxy:
    the streams opened after it are served as ever."""
    with httpx.stream("GET", f"{app.url}/stream", timeout=5) as response:
        lines = lines_of(response)
        sse_events(lines, 1)
        app.server.request_end_streams()
        assert "event: goodbye" in list(lines)
    with httpx.stream("GET", f"{app.url}/stream", timeout=5) as response:
        assert len(sse_events(lines_of(response), 3)) == 3, "a stream opened after it is served"
