"""The conformance matrix: services none of us wrote for zerodrop (conformance/), each in a compose
project of its own with its own Traefik and only what docs/apply.md tells a user to add, rolled
v1 -> v2 by the real `zerodrop rollout` under the probe through their Traefik on 127.0.0.1. Each
must drop no request and exit as it truly ended: 0, or 3 naming the SIGKILL that really happened.

`make test-conformance` runs every row (ZERODROP_CONFORMANCE=all); `make test` runs the stdlib
server's first row: killed at its grace by Traefik's idle connections, and saying so."""

from __future__ import annotations

import re
from pathlib import Path

import docker
import pytest

from lab.conformance import Stranger, running_stranger, selected
from lab.under_load import measure_under_load
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.errors import EXIT_CUT

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("stranger", selected(), ids=lambda s: s.row)
def test_a_service_none_of_us_wrote_rolls_under_load_with_zero_failed_and_a_true_exit(
    docker_client: docker.DockerClient, tmp_path: Path, stranger: Stranger
):
    with running_stranger(docker_client, stranger, tmp_path) as running:
        lint = running.zerodrop("lint")
        assert lint.returncode == 0, "what apply.md asks for is all there: lint finds no trap"
        image = f"{stranger.image}:v2"
        measured = measure_under_load(
            lambda: running.zerodrop("rollout", "--image", image), running.probe_options(), out=lambda _: None
        )
        done = measured.value
        assert done is not None
        failures = [(r.kind, r.error) for r in measured.probe.failures]
        total = sum(1 for r in measured.probe.records if r.end)
        seconds = re.search(r"total (\d+\.\d)s", done.stdout)
        print(
            f"conformance | {stranger.row} | {len(failures)} / {total} failed | exit {done.returncode} "
            f"| rollout {seconds.group(1) if seconds else '?'} s"
        )
        assert failures == [], f"{len(failures)} requests failed: {failures[:10]}"
        assert done.returncode == stranger.expected_exit, done.stdout
        running_images = {
            c.attrs["Config"]["Image"]
            for c in service_containers(docker_client, running.project, stranger.service)
        }
        assert running_images == {image}
        assert "UNVERIFIED" not in done.stdout
        if stranger.expected_exit == EXIT_CUT:
            killed = [line for line in done.stdout.splitlines() if line.startswith("rollout: CUT WORK: ")]
            assert killed and all("killed at the grace deadline" in line for line in killed), done.stdout
            assert all("idleConnTimeout" in line for line in killed), "the likely cause, with the fix"
