"""The workshop's outside view of an action: engine events turned into timeline marks, and a
timeline drawn from marks alone (a plain docker command has no phase log)."""

from __future__ import annotations

from lab.workshop.watch import _mark
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import SHORT, RequestRecord
from zerodrop.measure.timeline import plot_timeline


def event(action: str, at: float, **attributes: str) -> dict[str, object]:
    return {
        "Action": action,
        "timeNano": int(at * 1e9),
        "Actor": {"Attributes": {"name": "p-app-1", **attributes}},
    }


def test_engine_events_become_marks_named_by_container():
    assert _mark(event("kill", 10.5, signal="15")) == (10.5, "SIGTERM", "p-app-1")
    assert _mark(event("kill", 11.0, signal="9")) == (11.0, "SIGKILL", "p-app-1")
    assert _mark(event("kill", 11.0, signal="10")) == (11.0, "SIGUSR1", "p-app-1")
    assert _mark(event("die", 12.0, exitCode="0")) == (12.0, "exit", "p-app-1")
    assert _mark(event("start", 13.0)) == (13.0, "start", "p-app-1")
    assert _mark(event("health_status: healthy", 14.0)) == (14.0, "healthy", "p-app-1")


def test_engine_events_a_timeline_does_not_show_are_left_out():
    assert _mark(event("exec_start: python -S /app/healthcheck.py", 1.0)) is None
    assert _mark(event("health_status: unhealthy", 1.0)) is None
    assert _mark(event("destroy", 1.0)) is None


def test_a_plain_docker_stop_is_drawn_from_its_marks(tmp_path, monkeypatch):
    """No phases: the band panel is drawn from the marks, one row per container, and the command
    as a line; the figure is drawn only when the marks are given."""
    import matplotlib.axes

    t0 = 1000.0
    records = [RequestRecord(SHORT, t0 + i / 10, t0 + i / 10 + 0.01, 200, "v1", "r") for i in range(50)]
    result = ProbeResult(ProbeOptions("http://127.0.0.1:1", "h"), t0, t0 + 5, records)
    marks = [
        (t0 + 1.0, "docker stop", ""),
        (t0 + 1.01, "SIGTERM", "p-app-1"),
        (t0 + 1.5, "Traefik drops", "p-app-1"),
        (t0 + 2.0, "exit", "p-app-1"),
    ]
    rows: list[list[str]] = []
    original = matplotlib.axes.Axes.set_yticks

    def spy(self, ticks, labels=None, **kwargs):
        if labels is not None:
            rows.append(list(labels))
        return original(self, ticks, labels, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "set_yticks", spy)
    assert plot_timeline(result, [], tmp_path / "m.png", marks=marks).read_bytes()[:4] == b"\x89PNG"
    assert ["p-app-1"] in rows


def test_marks_name_a_container_without_its_project():
    from lab.workshop.watch import short_name

    assert short_name("zdws-s3b-8bffc5-app-1", "zdws-s3b-8bffc5") == "app-1"
    assert short_name("other-app-1", "zdws-s3b-8bffc5") == "other-app-1"
