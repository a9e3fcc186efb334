"""The strategies bench/strategies.py compares, each replacing a fresh 2-replica v1 stack by v2:
recreate-all, the manual recipe, drain + sleep 10, and the lab's rollout (one at a time, and
--max-surge N); their names, the loads, and what each run reports back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import docker

from lab.compose_lab import wait_all_routed
from lab.config import REPO_ROOT, lab_environment
from lab.workshop.actions import stop_all
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import get_container, replicas, send_signal
from zerodrop.errors import EXIT_CUT, EXIT_OK, EXIT_UNVERIFIED
from zerodrop.model import is_ready
from zerodrop.rollout.tool_cost import ToolCost
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

RECIPE_SLEEP = 10.0  # the documented recipe's fixed `sleep 10` between the drain flag and the stop
RECIPE_STOP_GRACE = 30  # the manual recipe's `docker stop -t 30`
WAIT_BOUND = 900.0  # no strategy step waits longer than this for replicas to be routed or healthy
PEAK_SAMPLE_SECONDS = 0.2

RECREATE, RECIPE, DRAIN_SLEEP, ONE, SURGE = (
    "recreate-all",
    "manual recipe",
    "drain + sleep 10",
    "lab rollout, 1 at a time",
    "lab rollout, --max-surge N",
)
ONE_SEQUENTIAL = "lab rollout, 1 at a time, --no-overlap"  # the schedule before overlap
# docker-rollout's documented drain recipe (a pre-stop hook that drains, then sleeps longer than
# healthcheck interval x retries + the longest request), done by this bench: the lab's healthcheck
# has 1 retry and its longest request is 15 s, so at a 30 s interval the sleep is 45 s.
DRAIN_SLEEP_DOCUMENTED = "drain + sleep 45 (docker-rollout's recipe)"
DOCUMENTED_SLEEP = 45.0
DEFAULT_LOAD, HIGH_LOAD = "20 GET/s", "1000 GET/s"
STREAMS_LOAD = "20 GET/s + streams"  # the default load holding 4 SSE streams and 2 WebSockets too


@dataclass
class Run:
    """One strategy's stack and what it reports back."""

    client: docker.DockerClient
    cfg: ComposeTarget
    target: str = "v2"
    floor: float | None = None
    exit_code: int | None = None  # the lab rollout's exit status (0 done, 3 done with cut work)
    cost: ToolCost | None = None  # the lab rollout's own CPU and memory


def recreate_all(run: Run) -> None:
    """`docker compose up -d` with the new version: compose recreates every replica."""
    compose.up(run.cfg, "--no-build", extra_env={"APP_VERSION": run.target})
    wait_all_routed(run.client, run.cfg, run.cfg.replicas, timeout=WAIT_BOUND)


def _scale_up_new(run: Run) -> list[str]:
    """Start as many new replicas as there are old ones; the old ones' ids."""
    old = [r.id for r in replicas(run.client, run.cfg.project, run.cfg.service)]
    compose.scale(run.cfg, 2 * len(old), extra_env={"APP_VERSION": run.target})
    return old


def _stop_and_remove(run: Run, old: list[str], grace: int | None) -> None:
    containers = [c for replica_id in old if (c := get_container(run.client, replica_id)) is not None]
    stop_all(containers, timeout=grace)
    for container in containers:
        container.remove(force=True)
    compose.scale(run.cfg, run.cfg.replicas, extra_env={"APP_VERSION": run.target})


def manual_recipe(run: Run) -> None:
    """Scale up, wait until Traefik routes the new ones, docker stop -t 30 the old, scale back."""
    old = _scale_up_new(run)
    wait_all_routed(run.client, run.cfg, 2 * len(old), timeout=WAIT_BOUND)
    _stop_and_remove(run, old, RECIPE_STOP_GRACE)


def drain_and_sleep(run: Run, seconds: float = RECIPE_SLEEP) -> None:
    """Start every new replica, wait until Docker calls them healthy, drain flag, sleep, stop."""
    old = _scale_up_new(run)

    def new_ones_healthy() -> bool:
        new = [r for r in replicas(run.client, run.cfg.project, run.cfg.service) if r.id not in old]
        return len(new) == len(old) and all(is_ready(r.health) for r in new)

    wait_for(new_ones_healthy, what="the new replicas healthy", timeout=WAIT_BOUND, interval=0.5)
    for replica_id in old:
        container = get_container(run.client, replica_id)
        if container is not None:
            send_signal(container, "SIGUSR1")  # the app's drain flag: readiness fails, serving goes on
    time.sleep(seconds)  # the recipe's fixed guess, the very thing this strategy measures
    _stop_and_remove(run, old, None)


def lab_rollout(max_surge: Callable[[ComposeTarget], int], *, overlap: bool = True) -> Callable[[Run], None]:
    """The lab's own rollout with the given batch size and schedule, run as a user runs it (`python
    -m lab rollout`, a process of its own, so its CPU and memory are its own, not the probe's);
    it reports its exit status, floor and cost from its summary."""

    def roll(run: Run) -> None:
        log_path = run.cfg.out_dir / f"{run.cfg.project}.rollout.jsonl"
        argv = [sys.executable, "-m", "lab", "rollout", "--to", run.target, "--no-build"]
        argv += ["--max-surge", str(max_surge(run.cfg)), "--log", str(log_path)]
        argv += [] if overlap else ["--no-overlap"]
        done = subprocess.run(
            argv, env={**os.environ, **lab_environment(run.cfg)}, cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=2 * WAIT_BOUND, check=False,
        )  # fmt: skip
        run.exit_code = done.returncode
        if done.returncode not in (EXIT_OK, EXIT_CUT, EXIT_UNVERIFIED):
            said = (done.stdout + done.stderr).strip().splitlines()[-3:]
            raise RuntimeError(f"lab rollout exited {done.returncode}: {' / '.join(said)}")
        run.floor, run.cost = summary_figures(done.stdout)

    return roll


def summary_figures(summary: str) -> tuple[float | None, ToolCost | None]:
    """The floor and the tool's cost from a rollout's printed summary (None where it has none)."""
    floor = re.search(r"^floor ([\d.]+)s", summary, re.M)
    cost = re.search(
        r"^tool: [\d.]+s CPU \(zerodrop ([\d.]+)s, the commands it ran ([\d.]+)s\), peak memory ([\d.]+) MiB",
        summary,
        re.M,
    )
    return (
        float(floor.group(1)) if floor else None,
        ToolCost(*(float(cost.group(i)) for i in (1, 2, 3))) if cost else None,
    )


STRATEGIES: dict[str, Callable[[Run], None]] = {
    RECREATE: recreate_all,
    RECIPE: manual_recipe,
    DRAIN_SLEEP: drain_and_sleep,
    ONE: lab_rollout(lambda cfg: 1),
    SURGE: lab_rollout(lambda cfg: cfg.replicas),
    ONE_SEQUENTIAL: lab_rollout(lambda cfg: 1, overlap=False),
    DRAIN_SLEEP_DOCUMENTED: lambda run: drain_and_sleep(run, DOCUMENTED_SLEEP),
}
