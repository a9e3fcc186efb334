"""The soak, as CI runs it: three rollouts v1 -> v2 -> v1 -> v2 on a private stack under one
continuous probe, then every replica stopped gracefully and every acknowledged write looked up."""

from __future__ import annotations

import json
import re

import pytest

from lab.config import load_config
from lab.soak import save, soak

pytestmark = pytest.mark.lab

SOAK_LINE = re.compile(
    r"^soak: (\d+) rollouts, (\d+) requests, (\d+) failed, (\d+) writes acknowledged, (\d+) lost$"
)


def test_three_rounds_drop_nothing_and_lose_no_write(docker_client, tmp_path):
    base = load_config().with_overrides(out_dir=tmp_path)
    report = soak(docker_client, base, rounds=3)
    path = save(report, tmp_path / "soak.json")
    print(json.dumps(report.to_json(), indent=2))
    match = SOAK_LINE.match(report.line())
    assert match, report.line()
    rollouts, requests, failed, acked, lost = map(int, match.groups())
    assert report.stopped is None, report.stopped
    assert (rollouts, failed, lost) == (3, 0, 0), report.line()
    assert requests > 1000 and acked > 300
    assert [r["to"] for r in report.rollouts] == ["v2", "v1", "v2"]
    assert all(r["cut"] == [] and r["fewest_routed"] >= 2 for r in report.rollouts)
    assert report.clean and json.loads(path.read_text())["line"] == report.line()
