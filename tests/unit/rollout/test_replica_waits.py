"""A long wait says once what it awaits and by when; a short one says nothing."""

from __future__ import annotations

import time
from typing import cast

from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits


def test_a_wait_that_runs_long_says_once_what_it_awaits():
    said: list[str] = []
    nowhere = cast(ServicePlatform, object())  # until() asks the platform nothing
    waits = ReplicaWaits(nowhere, poll=0.01, progress=said.append, progress_after=0.05)
    ends = time.monotonic() + 0.3
    waits.until(lambda: time.monotonic() > ends, "old app-1 idle", timeout=5)
    assert said == ["waiting for old app-1 idle (up to 5s; now: not yet)"]
    said.clear()
    waits.until(lambda: True, "quick", timeout=5)
    assert said == []
