"""A rollout killed right after it drained the only old replica, then `zerodrop recover`, under
each drain contract, on the real stack: recover must see the drained replica as draining (its
drain was recorded before the signal), keep the new one, and leave exactly one ready replica that
Traefik routes, with not one request failed after it ends. Docker still calls the drained replica
healthy at that moment, so without the record recover kept it and stopped the new one; once the
drained one's healthcheck failed, nothing served.

signal: and sigterm run on a one-replica lab stack (the lab's app drains on SIGUSR1, and goes lame
duck on SIGTERM); file: on the conformance matrix's stdlib server, with one replica."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import docker
import pytest

from lab.compose_lab import ensure_images, private_project
from lab.config import REPO_ROOT, load_config
from lab.conformance import STRANGERS, running_stranger
from lab.lab_app import lab_platform
from lab.probe_thread import ProbeThread
from zerodrop.adapters.docker_platform import DockerPlatform
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.waits import wait_for

pytestmark = pytest.mark.lab
SETTLE_SECONDS = 12.0  # the probe runs this long after recover: past every healthcheck's flip


def zerodrop(argv: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[str]:
    extra = ["--log", str(log)] if log else []
    return subprocess.Popen(
        [sys.executable, "-m", "zerodrop", *argv, *extra], env=env, cwd=REPO_ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def killed_after_its_drain(argv: list[str], env: dict[str, str], log: Path) -> None:
    """Start `zerodrop rollout ...` and SIGKILL it as soon as its phase log shows the drain."""
    child = zerodrop(argv, env, log)

    def drained() -> bool:
        assert child.poll() is None, f"the rollout ended early:\n{child.communicate()[0]}"
        text = log.read_text() if log.is_file() else ""
        return '"phase": "drain-to-out"' in text

    wait_for(drained, what="the rollout's first drain", timeout=180, interval=0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(30)


def recover_then_probe(
    client: docker.DockerClient,
    platform: DockerPlatform,
    argv: list[str],
    env: dict[str, str],
    probe: ProbeOptions,
) -> None:
    """`zerodrop recover`, then the probe for SETTLE_SECONDS: exit 0, one ready routed replica,
    and not one failed request."""
    done = zerodrop(["recover", *argv], env)
    out, _ = done.communicate(timeout=300)
    print(out)
    assert done.returncode == 0, out
    assert "zerodrop-lock" not in out, "the engine's lock is not a replica of the service"
    result = ProbeThread(replace(probe, duration=SETTLE_SECONDS)).start().wait(60)
    running = platform.replicas()
    routed = platform.routed_ips()
    assert len(running) == 1 and {ip for r in running for ip in r.ips} == routed, (running, routed)
    assert [(r.kind, r.error) for r in result.failures] == [], "requests failed after recover ended"
    assert sum(1 for r in result.records if r.ok) > 50


@pytest.mark.parametrize("contract", ["signal:SIGUSR1/SIGUSR2", "sigterm"])
def test_a_rollout_killed_after_draining_the_only_replica_then_recover_leaves_one_routed_replica(
    docker_client, tmp_path, contract
):
    base = load_config().with_overrides(out_dir=tmp_path)
    ensure_images(docker_client, base)
    with private_project(docker_client, base, "zdfault", {}, replicas=1) as cfg:
        env = {**os.environ, **cfg.compose_env(), "ZERODROP_STATE_DIR": str(tmp_path / "zerodrop")}
        flags = ["app", "-p", cfg.project, *(a for f in cfg.compose_files for a in ("-f", str(f)))]
        flags += ["--traefik-api", cfg.api_url]
        log = tmp_path / "rollout.jsonl"
        killed_after_its_drain(
            ["rollout", *flags, "--image", f"{cfg.app_image}:v2", "--drain", contract], env, log
        )
        probe = ProbeOptions(base_url=cfg.http_url, host=cfg.app_host, long_concurrency=0, short_rate=20,
                             write_rate=0, write_path=None, app_checks=False)  # fmt: skip
        recover_then_probe(
            docker_client, lab_platform(docker_client, cfg), [*flags, "--drain", contract], env, probe
        )


def test_a_rollout_killed_after_draining_the_only_replica_by_its_drain_file_then_recover_leaves_one(
    docker_client, tmp_path
):
    stdlib = replace(STRANGERS[1], replicas=1)
    one = tmp_path / "one-replica.yml"
    one.write_text("services:\n  web:\n    deploy:\n      replicas: 1\n")
    with running_stranger(docker_client, stdlib, tmp_path, one) as running:
        env = {**os.environ, "ZERODROP_STATE_DIR": str(tmp_path / "zerodrop")}
        flags = ["web", *running.flags(one), "--traefik-api", f"http://127.0.0.1:{running.api_port}"]
        killed_after_its_drain(
            ["rollout", *flags, "--image", f"{stdlib.image}:v2"], env, tmp_path / "rollout.jsonl"
        )
        cfg = load_config().with_overrides(
            project=running.project, service="web", api_port=running.api_port, balancer_name=running.balancer
        )
        probe = replace(running.probe_options(), long_concurrency=0, short_rate=20)
        recover_then_probe(docker_client, lab_platform(docker_client, cfg), flags, env, probe)
