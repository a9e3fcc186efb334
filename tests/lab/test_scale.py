"""The lab at eight replicas on this 2-core machine: it comes up and rolls one at a time under the
probe with nothing dropped; memory per replica and for the whole stack printed. (Rolling back is
the same rollout to the image before: tests/lab/test_rollout.py proves it at 2 replicas; at 8 it
was measured at 6bb3a9e, docs/evidence.md.)"""

from __future__ import annotations

import pytest

from lab.compose_lab import memory_by_container, private_project
from lab.config import load_config
from lab.lab_app import lab_platform
from lab.under_load import default_probe_options, measure_under_load
from zerodrop.adapters.docker_sdk import replicas
from zerodrop.measure.report import rollout_floor
from zerodrop.measure.writes import final_write_check
from zerodrop.model import Release
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.plan import RolloutOptions

pytestmark = pytest.mark.lab

MIB = 1024 * 1024


def test_eight_replicas_come_up_and_roll_with_nothing_dropped(docker_client, tmp_path):
    base = load_config().with_overrides(out_dir=tmp_path)
    with private_project(docker_client, base, "zdtest-scale", {}, replicas=8) as cfg:
        memory = memory_by_container(docker_client, cfg)
        app = {name: used for name, used in memory.items() if f"-{cfg.service}-" in name}
        assert len(app) == 8 and len(memory) == 9, sorted(memory)

        def roll():
            there = RolloutOptions(Release("v2"), build=False)
            return execute_rollout(
                lab_platform(docker_client, cfg), cfg, there, tmp_path / "forward.jsonl", print
            )

        measured = measure_under_load(roll, default_probe_options(cfg), out=lambda _: None)
        probe = measured.probe
        writes = final_write_check(docker_client, cfg.project, cfg.service, probe.acked_event_ids())
        after = {r.version for r in replicas(docker_client, cfg.project, cfg.service, all=True)}
    assert measured.value is not None
    forward = measured.value
    print(
        f"scale: 8 replicas, memory per replica {min(app.values()) / MIB:.0f}-"
        f"{max(app.values()) / MIB:.0f} MiB "
        f"(mean {sum(app.values()) / len(app) / MIB:.0f}), whole stack {sum(memory.values()) / MIB:.0f} MiB "
        f"with Traefik; rollout {forward.seconds:.1f}s (floor {rollout_floor(forward) or 0:.1f}s); "
        f"{len(probe.records)} requests, {len(probe.failures)} failed; {writes.line()}"
    )
    assert probe.failures == [], [(r.kind, r.error) for r in probe.failures[:10]]
    assert writes.lost == 0 and writes.acked > 100
    assert forward.cut == [] and len(forward.replaced) == 8
    assert after == {"v2"}, "every replica runs the new image"
