"""The fault matrix, on the real stack under the probe: each test breaks something in the middle of
a real rollout (`python -m lab rollout` in a child process, so signals and exit statuses are real)
and asserts the exit status, the end state (APP_REPLICAS ready replicas, all routed, on the
version they should be, nothing drained or left behind, no stale lock) and the probe's failures.

No request may fail, except where the test itself broke something: requests in flight on a
replica it SIGKILLed, or sent while Traefik reacts to that (a die event takes it up to a second),
or while Traefik itself restarts. Those are counted apart, printed and bounded. Writes acknowledged
by a replica the test SIGKILLed die with its memory; every other acknowledged write must be on the
volume after a final graceful stop.

Each test runs on a fresh two-replica v1 stack of its own. The probe's long requests last 25 s
here (not 15) and six are kept in flight, so that every old replica is still busy when a fault
hits it mid-drain; each test checks that before it starts the rollout."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from lab.compose_lab import ensure_images, leftovers, private_project
from lab.config import load_config
from lab.lab_app import lab_platform
from lab.under_load import UnderLoad, default_probe_options, measure_under_load
from tests.lab.faults import (
    FaultRecord,
    LabProcess,
    assert_end_state,
    kill,
    pause_engine,
    print_figures,
    replica_named,
    resume_engine,
    split_failures,
    traefik_container,
    written_by,
)
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.adapters.in_container import replica_stats
from zerodrop.adapters.traefik_api import get_through_traefik, routed_ips
from zerodrop.errors import TraefikUnavailable
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.measure.writes import final_write_check
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

pytestmark = pytest.mark.lab

LONG_SECONDS = 25.0
TRAEFIK_REACTION = 3.0  # a die event reaches Traefik's routing within its 0.5 s throttle; margin
MAX_KILL_WINDOW = 15.0  # no fault window may last longer than this


@pytest.fixture(scope="module")
def base(docker_client, tmp_path_factory):
    cfg = load_config().with_overrides(out_dir=tmp_path_factory.mktemp("faults"))
    ensure_images(docker_client, cfg)
    return cfg


@pytest.fixture
def stack(docker_client, base) -> Iterator[ComposeTarget]:
    with private_project(docker_client, base, "zdfault", {}) as cfg:
        yield cfg
    # A rollout killed mid-way leaves its engine lock: the teardown must take that too.
    assert leftovers(docker_client, cfg.project) == []


def probe_options(cfg) -> ProbeOptions:
    return replace(default_probe_options(cfg), long_concurrency=6, long_seconds=LONG_SECONDS)


def rollout_under_probe(
    stack: ComposeTarget, action: Callable[[], tuple[int, str]]
) -> tuple[UnderLoad[tuple[int, str]], int, str]:
    """Run a child rollout (the action returns its exit status and output) under the probe;
    the measurement, the status and the output (printed for the CI log)."""
    measured = measure_under_load(action, probe_options(stack), out=lambda _: None)
    assert measured.value is not None, f"the action raised: {measured.error}"
    status, output = measured.value
    print(output)
    return measured, status, output


def every_replica_busy(client, cfg) -> None:
    """Wait until each running replica serves at least one long request."""

    def busy() -> bool:
        return all(
            replica_stats(c)["inflight"] > 0 for c in service_containers(client, cfg.project, cfg.service)
        )

    wait_for(busy, what="a long request in flight on every replica", timeout=LONG_SECONDS + 10, interval=0.2)


def label_name(child: LabProcess, phase: str, role: str) -> str:
    """The container name the phase log gives for the first `role` replica in `phase`."""
    entry = next(e for e in child.entries() if e["phase"] == phase and e["replica"].startswith(role))
    return str(entry["replica"]).split(" ", 1)[1]


def check_failures_and_writes(
    client, cfg, measured, faults: FaultRecord, *, name: str, status: int | None
) -> None:
    """The common end of every fault test: figures printed, no unexplained failure, windows
    bounded, and every acknowledged write not held by a killed replica on the volume."""
    probe = measured.probe
    print_figures(name, probe, faults, status)
    explained, unexplained = split_failures(probe, faults)
    assert unexplained == [], (
        f"requests failed outside the fault windows: {[(r.kind, r.error) for r in unexplained]}"
    )
    assert all(end - start <= MAX_KILL_WINDOW for start, end in faults.windows), faults.windows
    bound = 6 + (probe.options.short_rate + probe.options.write_rate) * sum(e - s for s, e in faults.windows)
    assert len(explained) <= bound, f"{len(explained)} failures in the fault windows, bound {bound:.0f}"
    final = final_write_check(client, cfg.project, cfg.service, probe.acked_event_ids())
    allowed = written_by(probe, faults.killed)
    by_killed = len(set(final.missing) & allowed)
    print(f"fault {name}: {final.line()}; of the lost, acknowledged by a killed replica: {by_killed}")
    assert set(final.missing) <= allowed, f"writes lost: {sorted(set(final.missing) - allowed)[:10]}"
    assert final.acked > 0


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("crash-on-boot", ["--set", "SLOW_SECONDS=oops"], ["before becoming healthy", "diagnostics of"]),
        ("never-healthy", ["--set", "STARTUP_DELAY=600", "--timeout", "8"], ["timed out after 8s"]),
    ],
)
def test_1_2_new_version_that_crashes_or_never_gets_healthy_is_removed_and_v1_serves(
    docker_client, stack, name, settings, expected
):
    """1. v1 serves under the probe 2. roll to a v2 whose configuration makes it crash at start
    (1), or that initialises for longer than --timeout (2) 3. exit 1 with its diagnostics, the
    new replica removed, v1 serving, 0 failed."""
    faults = FaultRecord()

    def action() -> tuple[int, str]:
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build", *settings], name)
        return child.wait(), child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert status == 1
    assert all(text in output for text in expected), expected
    assert "now: Traefik routes 2 ready replica(s) of 2 running" in output
    assert_end_state(docker_client, stack, "v1")
    check_failures_and_writes(docker_client, stack, measured, faults, name=name, status=status)


def test_set_that_would_change_routing_is_refused_and_nothing_changes(docker_client, stack):
    """1. v1 serves under the probe 2. `rollout --to v2 --set APP_HOST=x.localhost` (a new
    replica would define router `app` with another rule, and Traefik would drop the router)
    3. exit 2 with one line, the same containers serve, 0 failed."""
    before = sorted(str(c.id) for c in service_containers(docker_client, stack.project, stack.service))
    faults = FaultRecord()

    def action() -> tuple[int, str]:
        child = LabProcess(
            stack, ["rollout", "--to", "v2", "--no-build", "--set", "APP_HOST=x.localhost"], "set-host"
        )
        return child.wait(), child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert status == 2 and "--set APP_HOST" in output, output
    after = sorted(str(c.id) for c in service_containers(docker_client, stack.project, stack.service))
    assert after == before
    assert_end_state(docker_client, stack, "v1")
    check_failures_and_writes(docker_client, stack, measured, faults, name="set-host", status=status)


def test_a_replica_that_breaks_the_router_fails_the_rollout_and_is_undone(docker_client, stack):
    """The severe finding, reached without --set: the child's own settings give its new replica
    another Host rule. Traefik drops router `app` once that replica is healthy, and requests answer
    404 while the service still lists every server. The rollout must not exit 0: it exits 1 naming
    the router, takes the new replica away, and v1 serves again. Requests fail only from the new
    replica's health until the undo (the window is recorded, bounded and printed)."""
    faults = FaultRecord()
    broken = stack.with_overrides(app_host="x.localhost")
    started: list[float] = []

    def action() -> tuple[int, str]:
        child = LabProcess(broken, ["rollout", "--to", "v2", "--no-build"], "router")
        started.append(child.wait_for_phase("healthy-to-routed", "new"))
        status = child.wait()
        faults.windows.append((started[0] - TRAEFIK_REACTION, time.time()))
        return status, child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert status == 1 and "router" in output, output
    assert_end_state(docker_client, stack, "v1")
    response = get_through_traefik(stack, "/health")
    assert response.status_code == 200 and response.headers["x-app-version"] == "v1"
    check_failures_and_writes(docker_client, stack, measured, faults, name="router", status=status)


ENGINE_PAUSE = 4.0  # seconds dockerd is frozen mid-undo


def test_docker_engine_paused_mid_undo_the_undo_finishes_and_v1_serves(docker_client, stack):
    """1. a rollout drains its first old replica 2. SIGINT: the undo begins 3. as it puts the old
    replica back, dockerd is frozen (SIGSTOP) for 4 s, so every Docker call hangs 4. the undo
    finishes after the engine comes back: exit 130, v1 x2 ready and routed, the new replica gone,
    not one request failed (Traefik and the replicas run on; only the engine's API is frozen)."""
    faults = FaultRecord()
    paused: list[float] = []

    def action() -> tuple[int, str]:
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], "engine-paused")
        child.wait_for_phase("drain-to-out", "old")
        child.send(signal.SIGINT)
        child.wait_for_phase("back-in", "old")
        pid, frozen = pause_engine(ENGINE_PAUSE)
        try:
            paused.append(frozen)
            status = child.wait()
        finally:
            resume_engine(pid)
        return status, child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert paused, "the engine was never paused"
    assert status == 130, output
    assert_end_state(docker_client, stack, "v1")
    check_failures_and_writes(docker_client, stack, measured, faults, name="engine-paused", status=status)


def assert_undone_after_losing_new_replicas(
    docker_client, stack, measured, faults: FaultRecord, *, status: int, output: str, name: str
) -> None:
    """A rollout whose new replicas died: exit 1 naming one, v1 serving as before, and only the
    kill windows' failures."""
    assert status == 1 and "new replica" in output
    assert_end_state(docker_client, stack, "v1")
    check_failures_and_writes(docker_client, stack, measured, faults, name=name, status=status)


def test_3_new_replica_killed_right_after_traefik_routes_it(docker_client, stack):
    """1. the new v2 replica is healthy and Traefik lists it 2. the test SIGKILLs it 3. the
    rollout notices before or while the old replica drains, puts it back, exits 1; v1 serves."""
    faults = FaultRecord()

    def action() -> tuple[int, str]:
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], "kill-new")
        child.wait_for_phase("healthy-to-routed", "new", event="end")
        victim = replica_named(docker_client, stack, label_name(child, "healthy-to-routed", "new"))[0]
        at = kill(docker_client, victim)
        faults.killed.add(victim.hostname)
        faults.windows.append((at, at + TRAEFIK_REACTION))
        return child.wait(), child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert_undone_after_losing_new_replicas(
        docker_client, stack, measured, faults, status=status, output=output, name="kill-new-after-routed"
    )


def test_4_every_new_replica_killed_while_the_old_ones_drain_with_max_surge_n(docker_client, stack):
    """--max-surge 2 with 2 replicas: 1. both v2 replicas serve, both v1 replicas have left
    Traefik and still finish long requests 2. the test SIGKILLs both v2 replicas 3. the rollout
    puts both v1 replicas back in rotation first, then exits 1; v1 serves. Until they are back,
    Traefik has no server at all: that outage is the fault's window, measured and bounded."""
    faults = FaultRecord()

    def action() -> tuple[int, str]:
        every_replica_busy(docker_client, stack)
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build", "--max-surge", "2"], "surge-kill")
        child.wait_for_phase("drain-to-idle", "old")
        victims = replica_named(docker_client, stack, stack.project)
        victims = [r for r in victims if r.version == "v2"]
        assert len(victims) == 2
        at = min(kill(docker_client, v) for v in victims)
        faults.killed |= {v.hostname for v in victims}
        status = child.wait()
        back = [e["end"] for e in child.entries() if e.get("event") == "end" and e["phase"] == "back-in"]
        assert len(back) == 2, "both old replicas must be put back in rotation"
        faults.windows.append((at, max(back) + TRAEFIK_REACTION))
        return status, child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert_undone_after_losing_new_replicas(
        docker_client, stack, measured, faults, status=status, output=output, name="kill-all-new-surge-n"
    )


def test_5_old_replica_killed_while_it_drains_is_reported_as_cut(docker_client, stack):
    """1. the first v1 replica has left Traefik and finishes its long requests 2. the test
    SIGKILLs it 3. the rollout goes on, names it with exit 137 and exits 3 (work was cut); v2
    serves. Only the requests that were in flight on it fail."""
    faults = FaultRecord()

    def action() -> tuple[int, str]:
        every_replica_busy(docker_client, stack)
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], "kill-old")
        child.wait_for_phase("drain-to-idle", "old")
        victim = replica_named(docker_client, stack, label_name(child, "drain-to-idle", "old"))[0]
        at = kill(docker_client, victim)
        faults.killed.add(victim.hostname)
        faults.windows.append((at, at))  # out of Traefik already: only what was in flight may fail
        return child.wait(), child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert status == 3
    assert "CUT WORK" in output and "exit 137" in output
    assert_end_state(docker_client, stack, "v2")
    check_failures_and_writes(docker_client, stack, measured, faults, name="kill-old-draining", status=status)


def test_6_traefik_restarted_mid_rollout_the_rollout_waits_and_ends_consistent(docker_client, stack):
    """1. the first old replica is being drained 2. the test restarts the Traefik container
    3. the rollout rides through Traefik's absence (its API calls are retried) and finishes;
    v2 serves. Requests fail only while Traefik itself is away, the single proxy."""
    faults = FaultRecord()

    def traefik_routes() -> bool:
        try:
            return bool(routed_ips(stack.api_url, stack.traefik_service))
        except TraefikUnavailable:
            return False

    def action() -> tuple[int, str]:
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], "traefik-restart")
        child.wait_for_phase("drain-to-out", "old")
        at = time.time()
        traefik_container(docker_client, stack).restart(timeout=3)
        wait_for(traefik_routes, what="Traefik back and routing", timeout=60, interval=0.1)
        faults.windows.append((at, time.time() + 1.0))  # + its first routing update reaching the data plane
        return child.wait(), child.output()

    measured, status, output = rollout_under_probe(stack, action)
    assert status == 0, output
    assert_end_state(docker_client, stack, "v2")
    check_failures_and_writes(docker_client, stack, measured, faults, name="traefik-restart", status=status)


INTERRUPTED_PHASES = (
    "create",
    "start-to-healthy",
    "healthy-to-routed",
    "drain-to-out",
    "drain-to-idle",
    "stop",
)


BEFORE_HAND_OVER = ("create", "start-to-healthy", "healthy-to-routed", "drain-to-out")
END_STATE_BY_BATCHES_HANDED_OVER: dict[int, str | set[str]] = {0: "v1", 1: {"v1", "v2"}, 2: "v2"}


def test_7_sigint_in_each_phase_undoes_the_step_and_exits_130(docker_client, stack):
    """For each phase of the first batch in turn: start a rollout to v2, SIGINT it as the phase
    begins, expect exit 130 and a consistent stack. A batch is handed over once its old replica
    has left rotation (drain-to-out ended ok): from then on that replica retires in the background,
    and the SIGINT undoes only the batch under way. So until the first drain-to-out ends, v1 x2
    serve; after it, v1 + v2, or v2 x2 if the second batch was handed over too (SIGINT as the
    first old replica's stop begins, its long requests done). All under one probe: not one
    request may fail."""
    outcomes: list[tuple[str, int, set[str]]] = []

    def action() -> None:
        for phase in INTERRUPTED_PHASES:
            every_replica_busy(docker_client, stack)
            child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], f"sigint-{phase}")
            child.wait_for_phase(phase, "" if phase == "create" else ("new" if "healthy" in phase else "old"))
            child.send(signal.SIGINT)
            status = child.wait()
            print(f"SIGINT in {phase}: exit {status}\n{child.output()}")
            handed_over = sum(
                1
                for e in child.entries()
                if e.get("event") == "end" and e["phase"] == "drain-to-out"
                and e["replica"].startswith("old ") and e["ok"]
            )  # fmt: skip
            versions = {r.version for r in lab_platform(docker_client, stack).replicas()}
            outcomes.append((phase, status, versions))
            assert status == 130, f"{phase}: exit {status}"
            if phase in BEFORE_HAND_OVER:
                assert handed_over == 0, f"{phase}: the first batch must be undone, not handed over"
            else:
                assert handed_over >= 1, f"{phase}: the first batch was handed over before its retirement"
            assert_end_state(docker_client, stack, END_STATE_BY_BATCHES_HANDED_OVER[handed_over])

    measured = measure_under_load(action, probe_options(stack), out=lambda _: None)
    print(f"fault sigint-each-phase: {outcomes}")
    check_failures_and_writes(
        docker_client, stack, measured, FaultRecord(), name="sigint-each-phase", status=130
    )


def killed_after_a_drain(docker_client, stack, name: str) -> None:
    """Start a rollout to v2 and SIGKILL it right after it drained its first old replica."""
    child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], name)
    child.wait_for_phase("drain-to-out", "old")
    child.send(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL


def test_8_rollout_sigkilled_after_a_drain_then_status_and_recover(docker_client, stack):
    """1. a rollout is SIGKILLed after it drained an old replica 2. `lab status` names every
    leftover in one line and exits 1 3. `lab recover` brings back 2 ready, routed replicas, none
    drained, exit 0 (the versions stay mixed, which status then says) 4. not one request fails."""
    reports: dict[str, tuple[int, str]] = {}

    def action() -> None:
        every_replica_busy(docker_client, stack)
        killed_after_a_drain(docker_client, stack, "sigkill")
        for command in ("status", "recover"):
            child = LabProcess(stack, [command], command)
            reports[command] = (child.wait(), child.output())

    measured = measure_under_load(action, probe_options(stack), out=lambda _: None)
    (status_code, status_out), (recover_code, recover_out) = reports["status"], reports["recover"]
    print(status_out, recover_out, sep="\n")
    assert status_code == 1
    for finding in (
        "stale rollout lock",
        "drained replica still running",
        "extra replicas: ",
        "mixed versions",
    ):
        assert f"found: {finding}" in status_out, finding
    # 3 run, or 4: the overlapped schedule may have started the next batch's replica as it was killed
    assert re.search(r"found: extra replicas: [34] run", status_out), status_out
    assert recover_code == 0
    assert_end_state(docker_client, stack, {"v1", "v2"})
    check_failures_and_writes(
        docker_client, stack, measured, FaultRecord(), name="sigkill-then-recover", status=recover_code
    )


def test_8b_rollout_sigkilled_after_a_drain_then_the_next_rollout_mends_and_finishes(docker_client, stack):
    reports: list[tuple[int, str]] = []

    def action() -> None:
        every_replica_busy(docker_client, stack)
        killed_after_a_drain(docker_client, stack, "sigkill")
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], "next-rollout")
        reports.append((child.wait(), child.output()))

    measured = measure_under_load(action, probe_options(stack), out=lambda _: None)
    status, output = reports[0]
    print(output)
    assert (
        "found: drained replica still running" in output
        and "recovering to 2 ready replica(s) first" in output
    )
    assert status == 0
    assert_end_state(docker_client, stack, "v2")
    check_failures_and_writes(
        docker_client, stack, measured, FaultRecord(), name="sigkill-then-next-rollout", status=status
    )


def test_a_hang_up_mid_drain_is_an_interrupt_the_batch_is_undone_and_exits_129(docker_client, stack):
    """A closed terminal or a dropped SSH session sends SIGHUP: as the first old replica drains,
    the rollout undoes its batch like a SIGINT, says so, releases its lock and exits 128 + 1; v1
    serves, 2 ready and routed, and not one request fails."""
    reports: list[tuple[int, str]] = []

    def action() -> None:
        every_replica_busy(docker_client, stack)
        child = LabProcess(stack, ["rollout", "--to", "v2", "--no-build"], "sighup")
        child.wait_for_phase("drain-to-out", "old")
        child.send(signal.SIGHUP)
        reports.append((child.wait(), child.output()))

    measured = measure_under_load(action, probe_options(stack), out=lambda _: None)
    status, output = reports[0]
    print(output)
    assert status == 128 + signal.SIGHUP, output
    assert "SIGHUP: undoing the current step" in output and "interrupted by SIGHUP" in output
    assert_end_state(docker_client, stack, "v1")
    check_failures_and_writes(
        docker_client, stack, measured, FaultRecord(), name="sighup-mid-drain", status=status
    )
