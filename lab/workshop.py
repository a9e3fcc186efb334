"""The workshop: each classic failure reproduced on a stack of its own, measured, then fixed.

Every scenario runs a *broken* and a *fixed* variant, each on a fresh compose project (its own
ports, volume and variables), under the probe, and returns an Outcome with the figures. The lab
tests assert that the broken variant fails and the fixed one does not; `python -m lab workshop N`
prints the same figures for the pages in docs/workshop/.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import docker
import httpx

from lab import compose
from lab.config import LabConfig
from lab.demo import default_probe_options, measure_under_load
from lab.deploy import execute_rollout
from lab.docker_api import Replica, exit_code, get_container, health_log_ends, replica_stats, replicas
from lab.gates import Gates
from lab.history import Release
from lab.platform import DockerPlatform
from lab.probe import LONG, WRITE, ProbeOptions, ProbeResult, RequestRecord, classify, tally_line
from lab.report import Phase, load_phases, plot_timeline
from lab.rollout import DEFAULT_ROUTE_TIMEOUT, RolloutOptions
from lab.stack import private_stack, wait_all_routed
from lab.waits import WaitTimeout, wait_for
from lab.writes import check_writes, final_write_check

BROKEN, FIXED = "broken", "fixed"


@dataclass
class Outcome:
    """The figures of one variant of one scenario."""

    scenario: int
    variant: str
    probe: ProbeResult | None = None
    exit_codes: list[int | None] = field(default_factory=list)
    acked_writes: int = 0
    lost_writes: int = 0
    notes: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Requests that did not succeed."""
        return len(self.probe.failures) if self.probe else 0

    @property
    def outage_seconds(self) -> float:
        """From the first failed request's start to the last one's end (0 without failures)."""
        failures = self.probe.failures if self.probe else []
        return max(r.end for r in failures) - min(r.start for r in failures) if failures else 0.0

    def failure_kinds(self) -> dict[str, int]:
        """Failed requests by request kind and error."""
        failures = self.probe.failures if self.probe else []
        return dict(Counter(f"{r.kind}:{r.error}" for r in failures).most_common())

    def line(self) -> str:
        """'scenario 1 broken: ok 300, failed 337 (...), outage 14.9s, writes lost 0/120, exits [..]'."""
        parts = [f"scenario {self.scenario} {self.variant}:"]
        if self.probe is not None:
            parts.append(tally_line(self.probe.records).split(" | ")[0] + ",")
            kinds = ", ".join(f"{k} {n}" for k, n in self.failure_kinds().items())
            parts.append(f"({kinds})," if kinds else "")
            parts.append(f"outage {self.outage_seconds:.1f}s,")
        parts.append(f"writes lost {self.lost_writes}/{self.acked_writes},")
        parts.append(f"exit codes {self.exit_codes}")
        figures = ", ".join(f"{k} {v:g}" for k, v in self.figures.items())
        notes = [*self.notes, figures] if figures else self.notes
        return " ".join(p for p in parts if p) + "".join(f"\n    {n}" for n in notes)


@contextmanager
def scenario_stack(
    client: docker.DockerClient, base: LabConfig, name: str, variables: dict[str, str], replicas: int = 2
) -> Iterator[LabConfig]:
    """A fresh v1 stack for one variant (prefix zdws-); always removed."""
    with private_stack(client, base, f"zdws-{name}", variables, replicas) as cfg:
        yield cfg


def probe_options(cfg: LabConfig) -> ProbeOptions:
    """The workshop's load: the demo's with 50 short requests a second, never over ten minutes."""
    return replace(default_probe_options(cfg, duration=600), short_rate=50.0)


def _right_after_a_healthcheck(container: docker.models.containers.Container) -> None:
    """Return as soon as Docker has finished a new healthcheck of the container, so an action
    taken now meets the longest wait before the next one (the window a reader sees at worst)."""
    seen = health_log_ends(container)
    wait_for(
        lambda: health_log_ends(container) != seen, what="the next healthcheck", timeout=10, interval=0.05
    )


def _quiet(_: str) -> None:
    return None


def _finish(
    outcome: Outcome, client: docker.DockerClient, cfg: LabConfig, probe: ProbeResult, *, final: bool = True
) -> Outcome:
    """Record the probe and where every acknowledged write is: by default the verdict, after every
    replica has stopped gracefully; with final=False a progress look (buffered counts as found)."""
    outcome.probe = probe
    acked = probe.acked_event_ids()
    check = final_write_check if final else check_writes
    writes = check(client, cfg.project, cfg.service, acked)
    outcome.acked_writes, outcome.lost_writes = writes.acked, len(writes.missing)
    return outcome


def _stop_all(containers: list[docker.models.containers.Container], timeout: int | None) -> list[int | None]:
    """docker stop several containers at once (as `docker stop a b` does); their exit codes."""

    def stop(container: docker.models.containers.Container) -> int | None:
        if timeout is None:
            container.stop()  # the container's own stop timeout (compose's stop_grace_period)
        else:
            container.stop(timeout=timeout)
        return exit_code(container)

    with ThreadPoolExecutor(max(1, len(containers))) as pool:
        return list(pool.map(stop, containers))


def _drain_and_confirm(client: docker.DockerClient, cfg: LabConfig, replica: Replica) -> float:
    """SIGUSR1, then wait until Traefik's API no longer lists the replica; seconds it took."""
    platform = DockerPlatform(client, cfg)
    started = time.monotonic()
    platform.drain(replica.id)
    Gates(platform).unrouted(replica, DEFAULT_ROUTE_TIMEOUT)
    return time.monotonic() - started


def _rollout(client: docker.DockerClient, cfg: LabConfig, version: str, outcome: Outcome) -> None:
    log_path = cfg.out_dir / f"{cfg.project}.rollout.jsonl"
    execute_rollout(client, cfg, RolloutOptions(target=Release(version), build=False), log_path, _quiet)
    outcome.phases = load_phases(log_path)


# --- 1. recreate-all downtime ------------------------------------------------------------------


def recreate_all(client: docker.DockerClient, base: LabConfig, variant: str) -> Outcome:
    """Broken: a new version by plain `docker compose up -d` (every replica recreated at once).
    Fixed: the rollout tool."""
    outcome = Outcome(1, variant)
    with scenario_stack(client, base, f"s1{variant[0]}", {}) as cfg:

        def action() -> None:
            if variant == BROKEN:
                compose.up(cfg, extra_env={"APP_VERSION": "v2"})
                wait_all_routed(client, cfg, 2, timeout=120)
            else:
                _rollout(client, cfg, "v2", outcome)

        measured = measure_under_load(action, probe_options(cfg), out=_quiet)
        return _finish(outcome, client, cfg, measured.probe)


# --- 2. the manual recipe ----------------------------------------------------------------------


def manual_recipe(client: docker.DockerClient, base: LabConfig, variant: str) -> Outcome:
    """Broken: scale up with --no-recreate, `docker stop -t 30` the old ones, remove them, scale
    back, with an app that stops accepting at SIGTERM (uvicorn's own shutdown, DRAIN_SECONDS=0).
    Fixed: the rollout tool on the same app (it drains before it stops)."""
    outcome = Outcome(2, variant)
    with scenario_stack(client, base, f"s2{variant[0]}", {"DRAIN_SECONDS": "0"}) as cfg:

        def action() -> None:
            if variant == FIXED:
                _rollout(client, cfg, "v2", outcome)
                return
            old = replicas(client, cfg.project, cfg.service)
            scale = ["--no-deps", "--no-recreate", "--scale", f"{cfg.service}=4", cfg.service]
            compose.up(cfg, *scale, extra_env={"APP_VERSION": "v2"})
            wait_all_routed(client, cfg, 4, timeout=120)  # fair to the recipe: new ones are routed
            containers = [c for r in old if (c := get_container(client, r.id)) is not None]
            _right_after_a_healthcheck(containers[0])
            outcome.exit_codes = _stop_all(containers, timeout=30)
            for container in containers:  # the recipe's `docker container prune -f`, this project only
                container.remove()
            scale_back = ["--no-deps", "--no-recreate", "--scale", f"{cfg.service}=2", cfg.service]
            compose.up(cfg, *scale_back, extra_env={"APP_VERSION": "v2"})

        measured = measure_under_load(action, probe_options(cfg), out=_quiet)
        return _finish(outcome, client, cfg, measured.probe)


# --- 3. graceful shutdown alone is not enough ----------------------------------------------------


def graceful_alone(client: docker.DockerClient, base: LabConfig, variant: str) -> Outcome:
    """Both on an app that stops accepting at SIGTERM (DRAIN_SECONDS=0). Broken: `docker stop` of
    a replica while it is routed. Fixed: drain it first (SIGUSR1), confirm in Traefik's API that
    it is out, then `docker stop`."""
    outcome = Outcome(3, variant)
    with scenario_stack(client, base, f"s3{variant[0]}", {"DRAIN_SECONDS": "0"}) as cfg:
        victim = replicas(client, cfg.project, cfg.service)[0]

        def action() -> None:
            if variant == FIXED:
                seconds = _drain_and_confirm(client, cfg, victim)
                outcome.figures["seconds until Traefik's API dropped it"] = round(seconds, 1)
            container = get_container(client, victim.id)
            assert container is not None
            _right_after_a_healthcheck(container)
            outcome.exit_codes = _stop_all([container], timeout=30)

        measured = measure_under_load(action, probe_options(cfg), out=_quiet)
        served = [r for r in measured.probe.records if r.kind == LONG and r.replica == victim.hostname]
        outcome.figures["stopped replica's long requests"] = len(served)
        outcome.figures["of them completed 200"] = sum(r.ok for r in served)
        return _finish(outcome, client, cfg, measured.probe)


# --- 4. slow start without readiness -------------------------------------------------------------


def slow_start(client: docker.DockerClient, base: LabConfig, variant: str) -> Outcome:
    """A third replica that takes 8 s to initialise joins. Broken: healthcheck disabled, so
    Traefik routes it as soon as it runs. Fixed: the readiness healthcheck gates routing."""
    outcome = Outcome(4, variant)
    disabled = "true" if variant == BROKEN else "false"
    with scenario_stack(client, base, f"s4{variant[0]}", {"APP_HEALTHCHECK_DISABLED": disabled}) as cfg:
        before = {r.id for r in replicas(client, cfg.project, cfg.service)}

        def action() -> None:
            scale = ["--no-deps", "--no-recreate", "--scale", f"{cfg.service}=3", cfg.service]
            compose.up(cfg, *scale, extra_env={"STARTUP_DELAY": "8"})
            new = [r for r in replicas(client, cfg.project, cfg.service) if r.id not in before]
            container = get_container(client, new[0].id)
            assert container is not None

            def ready() -> bool:
                try:
                    return bool(replica_stats(container)["ready"])
                except RuntimeError:
                    return False

            wait_for(ready, what="the slow replica to finish initialising", timeout=60, interval=0.5)
            wait_all_routed(client, cfg, 3, timeout=60)

        measured = measure_under_load(action, probe_options(cfg), out=_quiet)
        return _finish(outcome, client, cfg, measured.probe)


# --- 5. stop timeout shorter than the request ----------------------------------------------------


def short_stop_timeout(client: docker.DockerClient, base: LabConfig, variant: str) -> Outcome:
    """A drained replica still serving 15 s requests is stopped with the container's own timeout.
    Broken: Docker's default 10 s (STOP_GRACE_PERIOD=10s). Fixed: the lab's 30 s."""
    outcome = Outcome(5, variant)
    grace = "10s" if variant == BROKEN else "30s"
    with scenario_stack(client, base, f"s5{variant[0]}", {"STOP_GRACE_PERIOD": grace}) as cfg:
        victim = replicas(client, cfg.project, cfg.service)[0]

        pinned: list[RequestRecord] = []

        def action() -> None:
            container = get_container(client, victim.id)
            assert container is not None
            with ThreadPoolExecutor(PIN_ATTEMPTS) as pool:
                pinned.extend(_pin_fresh_long_request(cfg, container, pool))
                _drain_and_confirm(client, cfg, victim)
                outcome.exit_codes = _stop_all([container], timeout=None)

        measured = measure_under_load(action, probe_options(cfg), out=_quiet)
        measured.probe.records.extend(pinned)
        outcome.figures["long requests cut"] = sum(1 for r in measured.probe.failures if r.kind == LONG)
        return _finish(outcome, client, cfg, measured.probe)


PIN_ATTEMPTS = 20


def _pin_fresh_long_request(
    cfg: LabConfig, container: docker.models.containers.Container, pool: ThreadPoolExecutor
) -> list[RequestRecord]:
    """Send 15 s requests through Traefik, one at a time, until one has just started on the given
    replica (its slow_started count goes up). Returns records that fill in when they end."""
    records: list[RequestRecord] = []

    def send(record: RequestRecord) -> None:
        try:
            response = httpx.get(f"{cfg.http_url}/", headers={"Host": cfg.app_host}, timeout=60)
            record.status, record.replica = response.status_code, response.headers.get("x-app-replica")
            record.version = response.headers.get("x-app-version")
            record.error = None if response.status_code == 200 else f"http-{response.status_code}"
        except httpx.HTTPError as error:
            record.error = classify(error)
        record.end = time.time()

    def started() -> int:
        return int(replica_stats(container)["slow_started"])

    def rose_above(floor: int) -> Callable[[], bool]:
        return lambda: started() > floor

    for _ in range(PIN_ATTEMPTS):
        before = started()
        record = RequestRecord(LONG, time.time())
        records.append(record)
        pool.submit(send, record)
        try:
            wait_for(rose_above(before), what="a fresh long request", timeout=1.0, interval=0.1)
            return records
        except WaitTimeout:
            continue
    raise WaitTimeout(f"no long request landed on the replica in {PIN_ATTEMPTS} tries")


# --- 6. shutdown work longer than the grace period ------------------------------------------------


def slow_shutdown_work(client: docker.DockerClient, base: LabConfig, variant: str) -> Outcome:
    """Each replica needs 45 s to persist its buffered writes at shutdown. Broken: a 30 s grace
    period, so SIGKILL lands first (exit 137). Fixed: a 90 s grace period."""
    outcome = Outcome(6, variant)
    # Fixed: longest request 15 s + drain 5 s + shutdown work 45 s = 65 s, plus margin.
    grace = "30s" if variant == BROKEN else "90s"
    variables = {"SHUTDOWN_WORK_SECONDS": "45", "STOP_GRACE_PERIOD": grace}
    with scenario_stack(client, base, f"s6{variant[0]}", variables) as cfg:
        victim = replicas(client, cfg.project, cfg.service)[0]

        def action() -> None:
            container = get_container(client, victim.id)
            assert container is not None
            outcome.exit_codes = _stop_all([container], timeout=None)

        measured = measure_under_load(action, probe_options(cfg), out=_quiet)
        # Broken: a final graceful stop of the other replica would be SIGKILLed by the same short
        # grace period and lose its writes too; count only what the stopped replica lost.
        outcome = _finish(outcome, client, cfg, measured.probe, final=variant == FIXED)
        mine = [
            r for r in measured.probe.records if r.kind == WRITE and r.ok and r.replica == victim.hostname
        ]
        outcome.figures["writes acknowledged by the stopped replica"] = len(mine)
        return outcome


# --- 7. the keep-alive race ----------------------------------------------------------------------

KEEPALIVE_CONNECTIONS = 20
# The broken variant's app keep-alive: uvicorn's default is 5 s; 1 s gives the same race five
# times as many chances a minute. Idle gaps between bursts sweep across it in 0.25 ms steps.
BROKEN_KEEPALIVE_SECONDS = 1
KEEPALIVE_GAPS = tuple(BROKEN_KEEPALIVE_SECONDS - 0.01 + 0.00025 * k for k in range(80))


async def _post(client: httpx.AsyncClient, tag: dict[str, int]) -> RequestRecord:
    record = RequestRecord(WRITE, time.time())
    try:
        # Held 50 ms so the burst needs one backend connection per request.
        response = await client.post("/events", params={"hold": 0.05}, json=tag)
        record.status, record.replica = response.status_code, response.headers.get("x-app-replica")
        record.version = response.headers.get("x-app-version")
        if response.status_code >= 300:
            record.error = f"http-{response.status_code}"
        else:
            record.event_id = str(response.json()["id"])
    except httpx.HTTPError as error:
        record.error = classify(error)
    record.end = time.time()
    return record


async def _keepalive_bursts(cfg: LabConfig, records: list[RequestRecord]) -> None:
    """Bursts of concurrent writes, each burst after an idle gap near the app's keep-alive, so that
    every backend connection Traefik holds is reused just as uvicorn may be closing it."""
    clients = [
        httpx.AsyncClient(base_url=cfg.http_url, headers={"Host": cfg.app_host}, timeout=10)
        for _ in range(KEEPALIVE_CONNECTIONS)
    ]
    try:
        for burst, gap in enumerate((0.0, *KEEPALIVE_GAPS)):
            await asyncio.sleep(gap)
            records.extend(
                await asyncio.gather(*(_post(c, {"burst": burst, "n": n}) for n, c in enumerate(clients)))
            )
    finally:
        for client in clients:
            await client.aclose()


def keepalive_race(client: docker.DockerClient, base: LabConfig, variant: str) -> Outcome:
    """Bursts of writes after idle gaps around the app's keep-alive, on one replica. Broken: a short
    app keep-alive (1 s; uvicorn's default is 5 s) under Traefik's default 90 s idle timeout.
    Fixed: the lab's 30 s keep-alive with Traefik closing idle backend connections after 10 s."""
    outcome = Outcome(7, variant)
    variables = (
        {"APP_KEEPALIVE_SECONDS": str(BROKEN_KEEPALIVE_SECONDS), "TRAEFIK_IDLE_CONN_TIMEOUT": "90s"}
        if variant == BROKEN
        else {}
    )
    with scenario_stack(client, base, f"s7{variant[0]}", variables, replicas=1) as cfg:
        app = get_container(client, replicas(client, cfg.project, cfg.service)[0].id)
        assert app is not None
        env = dict(e.split("=", 1) for e in app.attrs["Config"]["Env"] if "=" in e)
        outcome.figures["app keep-alive s"] = float(env["APP_KEEPALIVE_SECONDS"])
        records: list[RequestRecord] = []
        started = time.time()
        asyncio.run(_keepalive_bursts(cfg, records))
        options = ProbeOptions(base_url=cfg.http_url, host=cfg.app_host, long_concurrency=0, duration=120)
        outcome.figures["bursts"] = len(KEEPALIVE_GAPS) + 1
        return _finish(outcome, client, cfg, ProbeResult(options, started, time.time(), records))


SCENARIOS: dict[int, tuple[str, Callable[[docker.DockerClient, LabConfig, str], Outcome]]] = {
    1: ("recreate-all downtime", recreate_all),
    2: ("the manual recipe", manual_recipe),
    3: ("graceful shutdown alone is not enough", graceful_alone),
    4: ("slow start without readiness", slow_start),
    5: ("stop timeout shorter than the request", short_stop_timeout),
    6: ("shutdown work longer than the grace period", slow_shutdown_work),
    7: ("the keep-alive race", keepalive_race),
}


def run_scenario(
    client: docker.DockerClient, base: LabConfig, number: int, variants: tuple[str, ...], plots: Path | None
) -> list[Outcome]:
    """Run the given variants of one scenario, printing each outcome; optionally plot each."""
    title, run = SCENARIOS[number]
    outcomes = []
    for variant in variants:
        outcome = run(client, base, variant)
        print(outcome.line(), flush=True)
        if plots is not None and outcome.probe is not None:
            png = plots / f"{number:02d}-{variant}.png"
            heading = f"{number}. {title}, {variant}: {outcome.failed} failed"
            plot_timeline(outcome.probe, outcome.phases, png, title=heading)
            print(f"    timeline {png}", flush=True)
        outcomes.append(outcome)
    return outcomes
