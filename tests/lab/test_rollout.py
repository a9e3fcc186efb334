"""The core claim, on the real stack: replicas are replaced under load and nothing is dropped.

The tests run in file order on the session's stack: v1 -> v2 under load, a failed rollout to a
version that never becomes healthy (v2 keeps serving), a rollback to v1 under load, then v1 -> v2
again with both replicas replaced in one batch (`--max-surge 2`), and last back to v1 while a real
browser's EventSources and a library's reconnecting WebSocket client hold streams."""

from __future__ import annotations

import time

import pytest

from lab.cli import main
from lab.under_load import STREAMS, WEBSOCKETS, default_probe_options, probe_during_rollout
from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import service_containers
from zerodrop.adapters.traefik_api import get_through_traefik
from zerodrop.measure.records import LONG, SHORT, WRITE
from zerodrop.measure.report import summarize, summary_table
from zerodrop.model import Release
from zerodrop.rollout.lock import rollout_lock
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.waits import wait_for

pytestmark = pytest.mark.lab


@pytest.fixture
def cli_env(monkeypatch, lab_cfg):
    """Point `python -m lab` (run in-process) at the test stack."""
    monkeypatch.setenv("LAB_PROJECT", lab_cfg.project)
    monkeypatch.setenv("LAB_HTTP_PORT", str(lab_cfg.http_port))
    monkeypatch.setenv("LAB_API_PORT", str(lab_cfg.api_port))
    monkeypatch.setenv("LAB_STATE_DIR", str(lab_cfg.state_dir))
    monkeypatch.setenv("LAB_OUT_DIR", str(lab_cfg.out_dir))
    return lab_cfg


def versions_answering(cfg, n: int = 10) -> set[str]:
    return {get_through_traefik(cfg, "/health").headers["x-app-version"] for _ in range(n)}


def all_versions(client, cfg) -> list[str]:
    containers = service_containers(client, cfg.project, cfg.service, all=True)
    return sorted(c.attrs["Config"]["Image"].rsplit(":", 1)[-1] for c in containers)


def assert_nothing_dropped(measured, ledger: set[str]) -> None:
    """Print the figures (they land in the CI log), then assert on them; the acknowledged writes
    go to the session's ledger for the final check."""
    ledger.update(measured.probe.acked_event_ids())
    if measured.rollout is not None:
        print(summary_table(measured.rollout))
    print(summarize(measured.probe, measured.phases, measured.writes))
    probe = measured.probe
    kinds = {k: [r for r in probe.records if r.kind == k] for k in (LONG, SHORT, WRITE)}
    failures = [(r.kind, r.error, r.replica) for r in probe.failures]
    assert failures == [], f"{len(failures)} requests failed: {failures[:10]}"
    assert len(kinds[LONG]) >= 4 and len(kinds[SHORT]) >= 60 and len(kinds[WRITE]) >= 30
    assert all(r.status == 200 and r.seconds >= 15 for r in kinds[LONG]), "a long request was cut"
    assert measured.writes.missing == [], f"acknowledged writes found nowhere: {measured.writes.missing[:10]}"
    assert measured.writes.acked == len(kinds[WRITE])
    streams = probe.streams_report()
    assert streams is not None and streams.lanes == STREAMS + WEBSOCKETS
    assert dict(streams.drops) == {}, f"streams dropped: {dict(streams.drops)}"
    assert streams.handovers >= streams.lanes, "every stream began on an old replica: each moved"
    if measured.rollout is not None:
        assert "streams-closed" in {p.phase for p in measured.phases}
        assert measured.rollout.cut == [], "an old replica was stopped with work in flight"
        assert measured.rollout.fewest_routed is not None
        assert measured.rollout.fewest_routed >= measured.rollout.started_with, "Traefik routed fewer than N"


def test_rollout_under_load_drops_nothing(docker_client, lab_cfg, write_ledger):
    """1. two v1 replicas, the probe keeps 4 long requests in flight plus 20 GET/s and 10 POST/s,
    and holds 4 SSE streams and 2 WebSockets 2. roll to v2 3. not one request failed, every long
    request got its full 15 s answer, every acknowledged write is on the volume or in a running
    replica, every stream was handed over to a new replica with no gap and no duplicate 4. only
    v2 answers, exactly two replicas exist, and compose agrees with them (a plain `up -d`
    recreates nothing)."""
    assert versions_answering(lab_cfg) == {"v1"}
    log_path = lab_cfg.out_dir / f"{lab_cfg.project}-rollout-v2.jsonl"
    measured = probe_during_rollout(
        docker_client,
        lab_cfg,
        RolloutOptions(target=Release("v2")),
        default_probe_options(lab_cfg, streams=True),
        log_path=log_path,
    )
    assert measured.failure is None and measured.rollout is not None
    assert_nothing_dropped(measured, write_ledger)
    assert {r.version for r in measured.probe.records if r.kind == SHORT} == {"v1", "v2"}
    assert versions_answering(lab_cfg) == {"v2"}
    assert all_versions(docker_client, lab_cfg) == ["v2", "v2"], "a v1 container was left behind"
    phases = {p.phase for p in measured.phases}
    assert {"start-to-healthy", "healthy-to-routed", "drain-to-out", "drain-to-idle", "stop"} <= phases

    before = {c.id for c in service_containers(docker_client, lab_cfg.project, lab_cfg.service)}
    compose.up(lab_cfg, extra_env={"APP_VERSION": "v2"})
    after = {c.id for c in service_containers(docker_client, lab_cfg.project, lab_cfg.service)}
    assert before == after, "compose disagreed with the rollout and recreated replicas"


def test_rollout_to_a_replica_that_never_gets_healthy_fails_and_v2_keeps_serving(
    docker_client, cli_env, write_ledger, capsys
):
    """1. the probe runs 2. a rollout to v3 whose replica initialises longer than --timeout
    3. exit 1, the v3 replica is removed, 0 failed requests, v2 still answers."""
    from lab.probe_thread import ProbeThread

    cfg = cli_env
    probe = ProbeThread(default_probe_options(cfg, duration=300)).start()
    try:
        code = main(["rollout", "--to", "v3", "--set", "STARTUP_DELAY=600", "--timeout", "10"])
    finally:
        result = probe.finish(timeout=60)
    write_ledger.update(result.acked_event_ids())
    out = capsys.readouterr().out
    print(out)
    assert code == 1
    assert "lab: rollout stopped" in out and "now: Traefik routes 2 ready replica(s) of 2 running" in out
    assert [(r.kind, r.error) for r in result.failures] == []
    assert versions_answering(cfg) == {"v2"}
    assert all_versions(docker_client, cfg) == ["v2", "v2"], "the failed v3 replica was left behind"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rollout", "--to", "v9", "--no-build"], "does not exist"),
        (["rollout", "--to", "v2", "--max-surge", "0"], "at least 1"),
        (["rollout", "--to", "v2", "--max-surge", "2", "--max-draining", "1"], "--max-draining"),
        (["rollout", "--to", "v2", "--set", "oops"], "KEY=VALUE"),
        (["rollout", "--to", "bad tag"], "not a valid image tag"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(docker_client, cli_env, capsys, argv, message):
    before = {c.id for c in service_containers(docker_client, cli_env.project, None, all=True)}
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert {c.id for c in service_containers(docker_client, cli_env.project, None, all=True)} == before


def test_unknown_project_and_concurrent_rollout_are_refused(docker_client, cli_env, monkeypatch, capsys):
    with rollout_lock(cli_env.state_dir, cli_env.project):
        assert main(["rollout", "--to", "v2"]) == 2
    assert "already running" in capsys.readouterr().err
    monkeypatch.setenv("LAB_PROJECT", "zd-no-such-project")
    assert main(["rollout", "--to", "v2"]) == 2
    assert "no running replicas" in capsys.readouterr().err


def test_rollback_under_load_drops_nothing(docker_client, lab_cfg, write_ledger):
    """1. the stack runs v2 after the first rollout 2. roll back (to what ran before it) under load
    3. 0 failed requests, no lost write, only v1 answers."""
    from zerodrop.rollout.execute import PREVIOUS, resolve_target

    target = resolve_target(lab_cfg, PREVIOUS, {})
    assert target.version == "v1"
    measured = probe_during_rollout(
        docker_client,
        lab_cfg,
        RolloutOptions(target=target, build=False),
        default_probe_options(lab_cfg, streams=True),
        log_path=lab_cfg.out_dir / f"{lab_cfg.project}-rollback.jsonl",
    )
    assert measured.failure is None
    assert_nothing_dropped(measured, write_ledger)
    assert versions_answering(lab_cfg) == {"v1"}
    assert all_versions(docker_client, lab_cfg) == ["v1", "v1"]


def test_rollout_in_one_batch_of_two_drops_nothing(docker_client, lab_cfg, write_ledger):
    """1. the stack runs v1 after the rollback 2. roll to v2 with --max-surge 2: two new replicas
    start beside the two old ones, then both old ones drain and stop together 3. 0 failed
    requests, no lost write, exactly two v2 replicas."""
    measured = probe_during_rollout(
        docker_client,
        lab_cfg,
        RolloutOptions(target=Release("v2"), max_surge=2),
        default_probe_options(lab_cfg, streams=True),
        log_path=lab_cfg.out_dir / f"{lab_cfg.project}-surge-2.jsonl",
    )
    assert measured.failure is None and measured.rollout is not None
    assert_nothing_dropped(measured, write_ledger)
    created = [p for p in measured.phases if p.phase == "create"]
    assert len(created) == 1, f"expected one batch, the rollout made {len(created)}"
    assert versions_answering(lab_cfg) == {"v2"}
    assert all_versions(docker_client, lab_cfg) == ["v2", "v2"]


def test_standard_clients_a_browsers_eventsources_and_a_reconnecting_websocket_lose_nothing(
    docker_client, cli_env, write_ledger, capsys
):
    """1. the stack runs v2 after the one-batch rollout; a real headless Chromium holds 4 plain
    EventSource objects through Traefik (no listener but `onmessage`), the websockets library's
    reconnecting client holds 2 WebSockets, and the probe's load runs 2. roll to v1 3. exit 0:
    no id skipped or repeated, no stream closed by the browser, no silence over 1 s, every lane
    moved from v2 to v1, and no request failed."""
    from lab.probe_thread import ProbeThread
    from lab.standard_clients import WebsocketsClients, browser_eventsources

    cfg = cli_env
    before = "v2" if versions_answering(cfg) == {"v2"} else "v1"  # v2 in file order; alone, v1
    target = "v1" if before == "v2" else "v2"
    probe = ProbeThread(default_probe_options(cfg, duration=300)).start()
    sockets = WebsocketsClients(cfg, 2).start()
    try:
        with browser_eventsources(cfg, 4) as browser:
            wait_for(lambda: all(len(lane.ids) >= 5 for lane in browser.lanes()), what="4 EventSources open",
                     timeout=30, interval=0.2)  # fmt: skip
            code = main(["rollout", "--to", target, *(["--no-build"] if target == "v1" else [])])
            ended = time.time()
            wait_for(lambda: all(lane.at and lane.at[-1] > ended + 1 for lane in browser.lanes()),
                     what="events after the rollout", timeout=30, interval=0.2)  # fmt: skip
            lanes = browser.lanes()
    finally:
        lanes_ws = sockets.stop()
        result = probe.finish(timeout=60)
    write_ledger.update(result.acked_event_ids())
    print(capsys.readouterr().out)
    for lane in [*lanes, *lanes_ws]:
        print(lane.line())
    assert code == 0
    problems = [p for lane in [*lanes, *lanes_ws] for p in lane.problems(max_silence=1.0)]
    assert problems == [], problems
    for lane in [*lanes, *lanes_ws]:
        assert lane.connections >= 2 and list(dict.fromkeys(lane.versions)) == [before, target], lane.line()
    assert [(r.kind, r.error) for r in result.failures] == []
    assert versions_answering(cfg) == {target}
