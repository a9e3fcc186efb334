"""The app's endpoints, in-process (starlette's TestClient runs the lifespan)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from zerodrop_app.api import create_app
from zerodrop_app.settings import AppSettings
from zerodrop_app.state import Phase, ReplicaState, events_file, persist_events

from zerodrop.waits import wait_for


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(
        version="v9",
        replica="r-test",
        slow_seconds=0.05,
        ping_seconds=0.02,
        shutdown_work_seconds=0.0,
        data_dir=tmp_path,
    )


def test_slow_root_answers_with_version_replica_and_times(settings):
    with TestClient(create_app(settings)) as client:
        response = client.get("/")
    body = response.json()
    assert response.status_code == 200
    assert body["version"] == "v9" and body["replica"] == "r-test"
    assert body["slept"] == 0.05 and body["start"] < body["end"]
    assert response.headers["x-app-version"] == "v9"
    assert response.headers["x-app-replica"] == "r-test"


def test_root_seconds_parameter_overrides_and_is_bounded(settings):
    with TestClient(create_app(settings)) as client:
        assert client.get("/?seconds=0").json()["slept"] == 0
        assert client.get("/?seconds=-1").status_code == 422
        assert client.get("/?seconds=1000").status_code == 422


def test_ping_and_liveness(settings):
    with TestClient(create_app(settings)) as client:
        assert client.get("/ping").json()["pong"] is True
        health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "alive"
    assert health.headers["x-app-replica"] == "r-test"


def test_readiness_fails_during_startup_delay_then_passes(settings):
    slow_start = replace(settings, startup_delay=0.4)
    with TestClient(create_app(slow_start)) as client:
        started = time.monotonic()
        assert client.get("/healthz").status_code == 503
        assert client.get("/").status_code == 503, "work is refused while initialising"
        assert client.get("/health").status_code == 200, "liveness passes while starting"
        wait_for(
            lambda: client.get("/healthz").status_code == 200, what="readiness", timeout=5, interval=0.05
        )
        assert time.monotonic() - started >= 0.35
        assert client.get("/").status_code == 200


def test_readiness_fails_while_draining_but_work_is_served(settings):
    state = ReplicaState(replica=settings.replica)
    with TestClient(create_app(settings, state)) as client:
        assert client.get("/healthz").status_code == 200
        state.start_draining()
        assert client.get("/healthz").status_code == 503
        assert client.get("/healthz").json()["phase"] == "draining"
        assert client.get("/").status_code == 200
        assert client.post("/events", json={"k": 1}).status_code == 200
        state.stop_draining()
        assert client.get("/healthz").status_code == 200


def test_events_are_acknowledged_buffered_and_persisted_on_shutdown(settings):
    with TestClient(create_app(settings)) as client:
        ids = [client.post("/events", json={"n": n}).json()["id"] for n in range(5)]
        stats = client.get("/stats").json()
        assert stats["buffered"] == 5 and stats["persisted"] == 0
        assert client.get("/events").json()["buffered"] == ids
        assert not events_file(settings.data_dir, "r-test").exists(), "written only by shutdown work"
    lines = events_file(settings.data_dir, "r-test").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids
    assert len(set(ids)) == 5


def test_event_can_be_held_to_simulate_slow_writes(settings):
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        assert client.post("/events?hold=0.1", json={"k": 1}).status_code == 200
        assert time.monotonic() - started >= 0.1
        assert client.post("/events?hold=9", json={"k": 1}).status_code == 422


def test_event_must_be_a_small_json_object(settings):
    with TestClient(create_app(settings)) as client:
        assert client.post("/events", json=[1, 2]).status_code == 422
        assert client.post("/events", json={"x": "y" * 5000}).status_code == 413


def test_stats_reports_phase_and_inflight(settings):
    state = ReplicaState(replica="r-test")
    with TestClient(create_app(settings, state)) as client:
        stats = client.get("/stats").json()
    assert stats["phase"] == Phase.READY.value and stats["ready"] is True
    assert stats["inflight"] == 0, "probe endpoints are not counted as in-flight work"


def test_stats_idle_within_answers_as_soon_as_nothing_is_in_flight(settings):
    """The rollout's idle gate: /stats?idle_within=S holds its answer until the last work request
    ends (not a poll later), and answers at the deadline if work goes on."""
    import threading

    slow = replace(settings, slow_seconds=0.8)
    with TestClient(create_app(slow)) as client:
        worker = threading.Thread(target=lambda: client.get("/"))
        started = time.monotonic()
        worker.start()
        wait_for(lambda: client.get("/stats").json()["inflight"] == 1, what="one in flight", timeout=5)
        short = client.get("/stats", params={"idle_within": 0.1}).json()
        assert short["inflight"] == 1, "work still in flight at the deadline: its count"
        held = client.get("/stats", params={"idle_within": 5}).json()
        answered = time.monotonic() - started
        worker.join(5)
        assert held["inflight"] == 0
        assert 0.7 < answered < 2.0, f"answered {answered:.2f}s after the request began"
        assert client.get("/stats", params={"idle_within": 6}).status_code == 422


def test_buffered_events_stay_buffered_when_their_write_fails(tmp_path):
    """The shutdown write fails: the events are still in the buffer (not dropped before the write
    succeeded), and the failure is raised for the lifespan to report."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    state = ReplicaState(replica="r")
    state.add_event({"n": 1})
    with pytest.raises(OSError):
        asyncio.run(persist_events(state, blocker / "data", 0))
    assert len(state.buffered) == 1 and state.persisted == 0


def test_a_slow_request_cannot_outlive_a_graceful_stop(settings):
    """?seconds= is bounded by what a stop lets finish: the lame-duck window plus the graceful
    timeout (25 s by default), not 120 s."""
    assert settings.longest_request == 25.0
    with TestClient(create_app(settings)) as client:
        assert client.get("/?seconds=25.5").status_code == 422
        assert client.get("/?seconds=120").status_code == 422


def test_the_buffer_is_bounded_and_a_refused_write_is_not_acknowledged(settings, monkeypatch):
    monkeypatch.setattr("zerodrop_app.api.MAX_BUFFERED_EVENTS", 2)
    with TestClient(create_app(settings)) as client:
        answers = [client.post("/events", json={"n": n}) for n in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 503]
        assert "id" not in answers[2].json()
        assert len(client.get("/events").json()["buffered"]) == 2


def test_an_event_must_be_a_json_object(settings):
    with TestClient(create_app(settings)) as client:
        assert client.post("/events", content=b"[1, 2]").status_code == 422
        assert client.post("/events", content=b"not json").status_code == 422


def test_write_ids_are_unique_across_restarts_of_one_container():
    """A restarted container keeps its hostname and its process counts from 1 again: the ids of
    its writes must still differ from those its earlier process wrote to the volume."""
    before, after = ReplicaState(replica="abc"), ReplicaState(replica="abc")
    first = {before.add_event({"n": n}) for n in range(3)}
    again = {after.add_event({"n": n}) for n in range(3)}
    assert not first & again
