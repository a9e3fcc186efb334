"""Support for the fault matrix: the real CLI in a child process (so signals and exit statuses are
real), faults injected when its phase log says a step begins or ends, and the checks every fault
test makes of the end state, the probe's failures and the writes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from lab.config import REPO_ROOT, lab_environment
from lab.lab_app import lab_platform
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.measure.records import RequestRecord
from zerodrop.model import Replica
from zerodrop.rollout.leftovers import findings, look
from zerodrop.rollout.lock import lock_state
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

CHILD_TIMEOUT = 300.0  # no child rollout runs longer than this


class LabProcess:
    """`python -m lab <argv>` in a child process, pointed at a stack, output to a file."""

    def __init__(self, cfg: ComposeTarget, argv: list[str], name: str) -> None:
        self.log_path = cfg.out_dir / f"{cfg.project}-{name}.jsonl"
        self.output_path = cfg.out_dir / f"{cfg.project}-{name}.out"
        self.output_path.parent.mkdir(parents=True, exist_ok=True)
        extra = ["--log", str(self.log_path)] if argv[0] in {"rollout", "rollback"} else []
        with self.output_path.open("w", encoding="utf-8") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lab", *argv, *extra],
                env={**os.environ, **lab_environment(cfg)},
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )

    def entries(self) -> list[dict[str, Any]]:
        """The phase log so far (begin and end lines)."""
        if not self.log_path.is_file():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for_phase(
        self, phase: str, replica: str = "", event: str = "begin", timeout: float = 120
    ) -> float:
        """Wait until the phase log shows `event` of `phase` for a replica label starting with
        `replica` (e.g. "old", "new"); the wall-clock time it was seen."""

        def seen() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the child exited early:\n{self.output()}")
            return any(
                e.get("event") == event and e["phase"] == phase and e["replica"].startswith(replica)
                for e in self.entries()
            )

        wait_for(seen, what=f"{event} of {phase} {replica}", timeout=timeout, interval=0.05)
        return time.time()

    def send(self, signum: int) -> float:
        """Deliver a signal to the child; when."""
        self.process.send_signal(signum)
        return time.time()

    def wait(self, timeout: float = CHILD_TIMEOUT) -> int:
        """The child's exit status."""
        return self.process.wait(timeout)

    def output(self) -> str:
        """Everything the child printed."""
        return self.output_path.read_text(encoding="utf-8")


def replica_named(client: docker.DockerClient, cfg: ComposeTarget, prefix: str) -> list[Replica]:
    """Running replicas of the app whose name ends with one of the phase log's labels."""
    return [r for r in lab_platform(client, cfg).replicas() if r.name.startswith(prefix)]


def kill(client: docker.DockerClient, replica: Replica) -> float:
    """SIGKILL a replica's container; when the kill was issued (requests in flight on it fail
    the moment it lands, before the call returns)."""
    issued = time.time()
    client.containers.get(replica.id).kill()
    return issued


def traefik_container(client: docker.DockerClient, cfg: ComposeTarget) -> Any:
    """The stack's Traefik container."""
    return service_containers(client, cfg.project, "traefik")[0]


@dataclass
class FaultRecord:
    """What a fault test did to the stack: replicas it killed (by the hostname the app reports)
    and the time windows in which its faults may make requests fail."""

    killed: set[str] = field(default_factory=set)
    windows: list[tuple[float, float]] = field(default_factory=list)

    def allows(self, record: RequestRecord) -> bool:
        """Whether a failed request overlaps one of the fault windows."""
        return any(record.start <= end and record.end >= start for start, end in self.windows)


def split_failures(
    probe: ProbeResult, faults: FaultRecord
) -> tuple[list[RequestRecord], list[RequestRecord]]:
    """(failures the test's own faults explain, failures nothing explains)."""
    explained = [r for r in probe.failures if faults.allows(r)]
    return explained, [r for r in probe.failures if not faults.allows(r)]


def assert_end_state(client: docker.DockerClient, cfg: ComposeTarget, version: str | set[str]) -> None:
    """Exactly APP_REPLICAS containers, all running, healthy, ready (none drained) and routed by
    Traefik, which routes nothing else; on the expected version(s); no finding (no stale lock)."""
    view = look(lab_platform(client, cfg))
    described = [(r.name, r.version, r.status, r.health, view.phases.get(r.id)) for r in view.replicas]
    assert len(view.replicas) == cfg.replicas, f"wanted {cfg.replicas} replicas: {described}"
    assert all(r.status == "running" and r.health == "healthy" for r in view.replicas), described
    assert all(view.phases.get(r.id) == "ready" for r in view.replicas), f"a replica is drained: {described}"
    assert view.routed == {ip for r in view.replicas for ip in r.ips}, (
        f"Traefik routes {view.routed}: {described}"
    )
    versions = {r.version for r in view.replicas}
    assert versions == ({version} if isinstance(version, str) else version), described
    found = findings(view, cfg.replicas, lock_state(cfg.state_dir, cfg.project))
    assert [f for f in found if not f.startswith("mixed versions")] == [], found


def print_figures(name: str, probe: ProbeResult, faults: FaultRecord, exit_status: int | None) -> None:
    """The figures of one fault test, for the CI log and the issue's notes."""
    explained, unexplained = split_failures(probe, faults)
    for r in unexplained:
        nearest = min(
            faults.windows, key=lambda w: abs(r.start - w[0]), default=(probe.started, probe.started)
        )
        print(
            f"  unexplained: {r.kind} {r.error} started {r.start - nearest[0]:+.3f}s, "
            f"ended {r.end - nearest[1]:+.3f}s relative to the nearest fault window's start and end"
        )
    print(
        f"fault {name}: exit {exit_status}, {len(probe.records)} requests, failed {len(probe.failures)} "
        f"(in the fault windows {len(explained)}, elsewhere {len(unexplained)}), "
        f"windows {[round(end - start, 1) for start, end in faults.windows]} s, "
        f"killed {sorted(faults.killed)}"
    )


def written_by(probe: ProbeResult, hostnames: set[str]) -> set[str]:
    """Ids of acknowledged writes that a given replica (by hostname) acknowledged."""
    return {r.event_id for r in probe.records if r.event_id and r.ok and r.replica in hostnames}


def output_of(path: Path) -> str:
    """A file's text (empty if absent)."""
    return path.read_text(encoding="utf-8") if path.is_file() else ""


DOCKERD_PID_FILE = Path("/var/run/docker.pid")


def pause_engine(seconds: float) -> tuple[int, float]:
    """Freeze the Docker engine (SIGSTOP to dockerd, found by its pid file) for `seconds`: a
    detached watchdog sends SIGCONT then, even if this process dies (callers send it too when
    they end, see resume_engine). Containers keep running (containerd is not paused); every Docker
    API call hangs meanwhile. dockerd's pid and when it was frozen."""
    pid = int(DOCKERD_PID_FILE.read_text().strip())
    subprocess.Popen(
        ["sh", "-c", f"sleep {seconds}; kill -CONT {pid}"], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.kill(pid, signal.SIGSTOP)
    return pid, time.time()


def resume_engine(pid: int) -> None:
    """SIGCONT to dockerd (harmless if it runs): the engine is left as it was found."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)
