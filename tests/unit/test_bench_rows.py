"""Pure parts of the strategies bench."""

from __future__ import annotations

from bench.strategies import old_replicas_busy_until
from lab.records import RequestRecord


def test_old_replicas_are_busy_until_their_last_answer_ends():
    records = [
        RequestRecord("long", 100.0, end=115.0, version="v1"),
        RequestRecord("short", 116.0, end=116.1, version="v2"),
        RequestRecord("short", 114.0, end=114.2, version="v1"),
        RequestRecord("short", 117.0, end=117.5, version=None, error="http-502"),
    ]
    assert old_replicas_busy_until(records, "v2", started_at=101.0) == 14.0
    assert old_replicas_busy_until(records[1:2], "v2", started_at=101.0) is None
