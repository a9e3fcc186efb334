"""The rollout's failure paths on the fake platform: every fault the lab's fault matrix injects on
the real stack, plus flaky Traefik answers, each reached by a scripted trigger.

After every failure the invariant must hold again: the replicas that serve (running, healthy, not
drained) are as many as before the failed batch, and nothing new is left behind."""

from __future__ import annotations

import signal

import pytest

from tests.unit.fake_platform import FakePlatform
from zerodrop.errors import EXIT_UNVERIFIED, RecoverFailed, RolloutFailed, RolloutInterrupted
from zerodrop.model import EntrypointAnswer, Release
from zerodrop.rollout.deadlines import resolve_timeouts
from zerodrop.rollout.engine import RolloutEngine
from zerodrop.rollout.leftovers import findings, look, look_for_leftovers, needs_recovery, state_lines
from zerodrop.rollout.lock import LockState
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.plan import RolloutOptions
from zerodrop.rollout.recover import recover
from zerodrop.rollout.replica_waits import ReplicaWaits
from zerodrop.rollout.result import Interrupt, RolloutResult


def engine(platform: FakePlatform, interrupt: Interrupt | None = None, **options) -> RolloutEngine:
    opts = RolloutOptions(target=Release("v2"), poll_interval=0.001, **options)
    timeouts = resolve_timeouts(opts.health_timeout, opts.route_timeout, None)
    return RolloutEngine(platform, opts, timeouts, RolloutLog(out=lambda _: None), interrupt)


def names(replicas) -> list[str]:
    return sorted(r.name for r in replicas)


def test_new_replica_lost_after_it_was_routed_is_caught_before_any_drain():
    """1. app-3 (v2) becomes healthy and routed 2. it dies just before the old one would drain
    3. no old replica is drained, app-3 is removed, app-1 and app-2 serve, exit as failed."""
    platform = FakePlatform()
    platform.on("routed", lambda p: p.on("find app-3", lambda p: p.kill("app-3")))
    with pytest.raises(RolloutFailed, match="new replica app-3 is exited"):
        engine(platform).run()
    assert not any(e.startswith("drain") for e in platform.events)
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert "id3" not in platform.replicas_by_id


def test_all_new_replicas_killed_while_old_ones_drain_puts_the_old_ones_back_first():
    """--max-surge equal to the replica count: 1. app-3 and app-4 are routed, app-1 and app-2
    have left Traefik 2. both new ones are SIGKILLed while app-1 waits to be idle 3. both old
    replicas are undrained before anything else happens, and serve; the dead ones are removed.
    app-2 stays busy, so its retirement cannot reach its stop before the kill (the threads race)."""
    platform = FakePlatform(count=2)
    platform.by_name("app-2").never_idle = True
    platform.on("inflight app-1", lambda p: p.kill("app-3", "app-4"))
    with pytest.raises(RolloutFailed, match="new replica app-3"):
        engine(platform, max_surge=2).run()
    after_kill = platform.events[platform.events.index("killed app-4") + 1 :]
    assert after_kill[:2] == ["undrain app-1", "undrain app-2"], after_kill
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert not any(e.startswith("stop app-1") or e.startswith("stop app-2") for e in platform.events)
    assert set(platform.replicas_by_id) == {"id1", "id2"}


def test_old_replica_that_never_goes_idle_is_stopped_at_the_deadline_and_reported_as_cut():
    platform = FakePlatform(stop_timeout=0.05)
    platform.by_name("app-1").never_idle = True
    result = engine(platform).run()
    assert [(c.replica, c.inflight) for c in result.cut] == [("app-1", 1)]
    assert "1 request(s) or stream(s) in flight at the grace deadline" in result.cut[0].line()
    assert names(platform.serving()) == ["app-3", "app-4"]


def test_old_replica_killed_while_it_drains_is_reported_and_the_rollout_goes_on():
    platform = FakePlatform()
    platform.on("inflight app-1", lambda p: p.kill("app-1"))
    result = engine(platform).run()
    assert [(c.replica, c.exit_code) for c in result.cut] == [("app-1", 137)]
    assert "SIGKILL" in result.cut[0].line()
    assert {r.version for r in platform.serving()} == {"v2"} and len(platform.serving()) == 2


def test_traefik_api_failing_for_a_few_calls_is_retried_and_the_rollout_succeeds():
    platform = FakePlatform()
    platform.on("drain app-1", lambda p: setattr(p, "traefik_down_for", 5))
    platform.on("scale_up", lambda p: setattr(p, "traefik_down_for", 3))
    result = engine(platform).run()
    assert len(result.replaced) == 2 and result.cut == []
    assert platform.traefik_down_for == 0


def test_traefik_api_down_for_good_stops_cleanly_and_says_what_was_left():
    """Traefik's API stops answering once the new replica exists: the routed gate times out, the
    undo runs to its end (its own Traefik calls fail too) and reports instead of raising."""
    platform = FakePlatform()
    platform.on("scale_up", lambda p: setattr(p, "traefik_down_for", 10**9))
    with pytest.raises(RolloutFailed, match="last attempt failed: PlatformUnavailable") as caught:
        engine(platform, route_timeout=0.05).run()
    assert any("app-3" in line for line in caught.value.left_behind), caught.value.left_behind
    assert names(platform.serving())[:2] == ["app-1", "app-2"]


def test_exec_failing_while_waiting_for_idle_is_retried_then_reported_as_unknown_cut():
    platform = FakePlatform(stop_timeout=0.05)
    platform.exec_fails.add("app-1")
    result = engine(platform).run()
    assert [(c.replica, c.inflight) for c in result.cut] == [("app-1", -1)]
    assert "unknown number" in result.cut[0].line()


def test_an_unexpected_error_while_retiring_runs_the_same_undo():
    """docker stop of the old replica raises something the engine does not know: the old replica is
    put back, the new one retired gracefully, and the error becomes one RolloutFailed. (app-2
    leaves rotation slowly, so the next batch is still under way when app-1's stop fails.)"""
    platform = FakePlatform()
    platform.by_name("app-2").polls_to_unrouted = 10_000

    def explode(_: FakePlatform) -> None:
        raise RuntimeError("engine hiccup")

    platform.on("stop app-1", explode)
    with pytest.raises(RolloutFailed, match="RuntimeError: engine hiccup"):
        engine(platform).run()
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert "undrain app-1" in platform.events and "remove app-3" in platform.events


@pytest.mark.parametrize(
    ("phase_call", "phase"),
    [
        ("scale_up", "create"),
        ("find app-3", "start-to-healthy"),
        ("routed", "healthy-to-routed"),
        ("drain app-1", "drain-to-out"),
        ("inflight app-1", "drain-to-idle"),
    ],
)
def test_an_interrupt_in_each_phase_undoes_the_batch(phase_call, phase):
    """Up to drain-to-out the interrupted batch is undone: v1 serves. From drain-to-idle on, the old
    replica has been handed to its background retirement and the next batch is under way: that next
    batch is undone, the first one completes (app-1 retires, app-3 stays). (app-2 leaves rotation
    slowly: on a busy machine the next batch could otherwise be handed over too before app-1's
    retirement thread reaches its in-flight check, and then it rightly stays.)"""
    platform = FakePlatform()
    platform.by_name("app-2").polls_to_unrouted = 10_000
    interrupt = Interrupt()
    platform.on(phase_call, lambda _: interrupt.request(signal.SIGINT))
    with pytest.raises(RolloutInterrupted) as caught:
        engine(platform, interrupt).run()
    assert caught.value.signum == signal.SIGINT
    expected = ["app-2", "app-3"] if phase == "drain-to-idle" else ["app-1", "app-2"]
    assert names(platform.serving()) == expected, phase
    assert {f.replica.name for f in platform.replicas_by_id.values()} == set(expected), phase


def test_an_interrupt_during_a_stop_finishes_that_step_and_undoes_the_next_batch():
    """The stop of app-1 runs on its retirement's thread while the next batch may already have
    begun (pipelined retirement): the stop finishes, and the next batch, if it began, is undone.
    (app-2 leaves rotation slowly, so that batch is not handed over before the interrupt.)"""
    platform = FakePlatform()
    platform.by_name("app-2").polls_to_unrouted = 10_000
    interrupt = Interrupt()
    platform.on("stop app-1", lambda _: interrupt.request(signal.SIGTERM))
    with pytest.raises(RolloutInterrupted) as caught:
        engine(platform, interrupt).run()
    assert caught.value.signum == signal.SIGTERM
    assert "remove app-1" in platform.events
    assert "id4" not in platform.replicas_by_id  # never created, or taken away by the undo
    assert names(platform.serving()) == ["app-2", "app-3"]


def killed_mid_rollout() -> FakePlatform:
    """What a SIGKILLed rollout leaves after draining app-1: app-3 (v2) serves beside app-1 (v1,
    drained) and app-2 (v1), and a stopped app-0 of an older attempt."""
    platform = FakePlatform()
    new = platform._add("v2", healthy=True)
    platform.by_name("app-1").drained = True
    stopped = platform._add("v1", healthy=True)
    stopped.replica = stopped.replica.__class__(**{**stopped.replica.__dict__, "status": "exited"})
    assert new.replica.name == "app-3"
    return platform


def test_findings_name_each_leftover_in_one_line():
    platform = killed_mid_rollout()
    stale = LockState(False, True, "pid 4242, rollout to v2, since 10:00:00")
    found = findings(look(platform), 2, stale)
    text = "\n".join(found)
    assert "stale rollout lock" in text and "pid 4242" in text
    assert "drained replica still running: app-1" in text
    assert "stopped replica left behind: app-4" in text
    assert "extra replicas: 3 run, 2 wanted" in text
    assert "mixed versions: v1 x2, v2 x1" in text
    assert needs_recovery(look(platform), 2, stale)


def test_recover_retires_the_drained_replica_and_leaves_n_ready():
    platform = killed_mid_rollout()
    cut = recover(
        platform,
        ReplicaWaits(platform, poll=0.001),
        RolloutLog(out=lambda _: None),
        2,
        Release("v1"),
        health_timeout=1,
        route_timeout=1,
    )
    assert cut == []
    assert names(platform.serving()) == ["app-2", "app-3"]
    assert set(platform.replicas_by_id) == {"id2", "id3"}
    assert not needs_recovery(look(platform), 2, LockState(False, False))
    assert state_lines(look(platform))[0].startswith("now: Traefik routes 2 ready replica(s) of 2 running")


def test_recover_starts_missing_replicas_before_anything_else():
    platform = FakePlatform(count=1)
    recover(
        platform, ReplicaWaits(platform, poll=0.001), RolloutLog(out=lambda _: None), 2, Release("v1"),
        health_timeout=1, route_timeout=1,
    )  # fmt: skip
    assert len(platform.serving()) == 2 and platform.events == ["create app-2"]


def test_result_reports_the_fewest_servers_traefik_listed():
    platform = FakePlatform(count=3)
    result: RolloutResult = engine(platform).run()
    assert result.started_with == 3 and result.fewest_routed is not None and result.fewest_routed >= 3


def test_an_extra_replica_without_a_killed_rollout_is_reported_but_not_mended():
    """Three healthy replicas where APP_REPLICAS says two, no stale lock, nothing drained: the
    operator scaled by hand. Status reports it; a rollout does not scale it back."""
    platform = FakePlatform(count=3)
    view = look(platform)
    assert "extra replicas: 3 run, 2 wanted (v1 x3)" in findings(view, 2, LockState(False, False))
    assert not needs_recovery(view, 2, LockState(False, False))
    assert needs_recovery(view, 2, LockState(False, True, "pid 1, rollout to v2, since 10:00:00"))


def test_a_settled_service_is_looked_at_without_asking_any_app_its_phase():
    """Before a rollout, in-container requests (a process start each, slow under load) are made
    only when Docker, Traefik or the lock give a reason."""
    platform = FakePlatform(count=2)
    view = look_for_leftovers(platform, LockState(False, False))
    assert view.phases == {} and not [c for c in platform.calls if c.startswith("phase")]
    assert not needs_recovery(view, 2, LockState(False, False))


def test_a_stale_lock_or_a_replica_out_of_rotation_makes_the_look_ask_every_phase():
    stale = LockState(False, True, "pid 4242, rollout to v2, since 10:00:00")
    view = look_for_leftovers(killed_mid_rollout(), stale)
    assert view.drained(next(r for r in view.running if r.name == "app-1"))
    assert needs_recovery(view, 2, stale)

    platform = FakePlatform(count=2)
    platform.by_name("app-1").drained = True
    platform.find("id1")  # Docker's next healthcheck: unhealthy, and Traefik drops it
    view = look_for_leftovers(platform, LockState(False, False))
    assert sorted(c for c in platform.calls if c.startswith("phase")) == ["phase app-1", "phase app-2"]
    assert "drained replica still running: app-1 (v1), out of rotation" in findings(
        view, 2, LockState(False, False)
    )


# --- the review's holes in the failure paths (issue 17): each test failed before its fix --------


def test_undo_keeps_a_new_replica_when_an_old_one_does_not_come_back():
    """The batch is interrupted while app-1 drains; app-1 ignores the undrain, so Traefik never
    lists it again. The undo must not count it as back: app-3 (v2, serving) stays, the service
    keeps two routed replicas, and the undo says app-1 did not come back."""
    platform = FakePlatform()
    platform.by_name("app-1").ignores_undrain = True
    interrupt = Interrupt()
    platform.on("drain app-1", lambda _: interrupt.request(signal.SIGINT))
    with pytest.raises(RolloutInterrupted) as caught:
        engine(platform, interrupt, route_timeout=0.05).run()
    assert names(platform.serving()) == ["app-2", "app-3"]
    assert any("app-1" in line and "rotation" in line for line in caught.value.left_behind)


def interrupted_with_docker_blind(platform: FakePlatform, at: str, blind: str) -> RolloutInterrupted:
    """SIGINT at the call `at`, from when on Docker cannot inspect `blind`; the rollout's error."""
    interrupt = Interrupt()

    def docker_gone(p: FakePlatform) -> None:
        p.find_fails.add(blind)
        interrupt.request(signal.SIGINT)

    platform.on(at, docker_gone)
    with pytest.raises(RolloutInterrupted) as caught:
        engine(platform, interrupt, route_timeout=0.05).run()
    return caught.value


def test_undo_with_docker_unreachable_still_settles_and_reports():
    """Docker cannot inspect app-2 when the second batch is interrupted: the undo says so instead
    of raising, the first batch's retirement is settled, and the rollout ends as interrupted."""
    platform = FakePlatform()
    stopped = interrupted_with_docker_blind(platform, "drain app-2", "app-2")
    assert any("inspecting app-2" in line for line in stopped.left_behind), stopped.left_behind
    assert "remove app-1" in platform.events  # the first batch's retirement ran to its end
    assert len(platform.serving()) >= 2


def test_a_successor_flap_during_a_retirement_does_not_leave_the_old_replica_behind():
    """claim_stop sees app-3 unhealthy once (a flap the main thread never sees) and holds app-1
    back. Once app-3 serves again app-1 must still retire: the rollout ends with two v2 replicas,
    not with a drained v1 replica running and a false 'its batch was undone'."""
    platform = FakePlatform()
    platform.on("inflight app-1", lambda p: setattr(p.by_name("app-3"), "flap_seen_by", "retire-app-1"))
    result = engine(platform).run()
    assert len(result.replaced) == 2
    assert sorted(r.version for r in platform.replicas()) == ["v2", "v2"]
    assert "id1" not in platform.replicas_by_id


def test_containers_compose_created_before_it_failed_are_taken_away():
    """compose creates app-3, then fails: the undo must know app-3 and remove it."""
    platform = FakePlatform()
    platform.scale_up_fails_after_create = True
    with pytest.raises(RolloutFailed):
        engine(platform, route_timeout=0.05).run()
    assert set(platform.replicas_by_id) == {"id1", "id2"}
    assert names(platform.serving()) == ["app-1", "app-2"]


def test_a_final_check_that_fails_does_not_claim_an_undo():
    """A replica added by hand during the rollout makes the final count wrong: the rollout fails
    and says nothing was undone."""
    platform = FakePlatform()
    platform.on("remove app-2", lambda p: p._add("v1", healthy=True))
    with pytest.raises(RolloutFailed, match="ended with 3 replicas") as caught:
        engine(platform).run()
    assert caught.value.undone is False


def test_a_new_replica_that_breaks_the_router_fails_the_rollout_and_is_undone():
    """`--set APP_HOST=x` on the real stack: the new replica defines router `app` with another
    rule, Traefik drops the router, and every request answers 404 although the service still
    lists its servers. The routed gate must see it, fail, and take the new replica away."""
    platform = FakePlatform(new_behaviour={"breaks_router": True})
    with pytest.raises(RolloutFailed, match="no router app@docker"):
        engine(platform, route_timeout=0.05).run()
    assert names(platform.serving()) == ["app-1", "app-2"]
    assert set(platform.replicas_by_id) == {"id1", "id2"}
    assert platform.entrypoint_answer() == EntrypointAnswer(200, "v1", True)


def test_a_rollout_ends_with_a_real_request_through_the_entrypoint():
    platform = FakePlatform()
    engine(platform).run()
    assert platform.calls[-1] == "entrypoint"


def test_a_fully_replaced_routed_service_whose_last_check_fails_is_done_but_unverified_never_failed():
    """Every replica replaced and routed, but the check through the entrypoint gets a 404 (a /
    the service does not serve): the rollout does not fail and undoes nothing; its result says
    unverified, with what the check got, and exits 4."""
    platform = FakePlatform(check_answers=404, answer_timeout=0.05)
    result = engine(platform, route_timeout=0.2).run()
    assert result.unverified is not None and "answered 404" in result.unverified
    assert result.exit_code == EXIT_UNVERIFIED
    assert {r.version for r in platform.serving()} == {"v2"} and len(platform.serving()) == 2


def test_a_new_replica_docker_cannot_inspect_is_kept_while_an_old_one_is_not_back():
    """Interrupted while app-1 drains; app-1 ignores the undrain, and Docker cannot inspect app-3
    (the new one): unknown may be serving, so app-3 stays rather than being taken away."""
    platform = FakePlatform()
    platform.by_name("app-1").ignores_undrain = True
    stopped = interrupted_with_docker_blind(platform, "drain app-1", "app-3")
    assert "id3" in platform.replicas_by_id and not platform.by_name("app-3").drained
    assert any("inspecting app-3" in line for line in stopped.left_behind)


def test_an_undo_that_falls_short_names_the_recover_command_of_the_tool_that_ran_it():
    """app-1 ignores its undrain and the new app-3 dies as app-1 drains: one replica fewer than
    before the batch. The line says which command mends it: zerodrop's for zerodrop's users, not
    the lab's."""
    platform = FakePlatform()
    platform.by_name("app-1").ignores_undrain = True
    platform.on("drain app-1", lambda p: p.kill("app-3"))
    command = "zerodrop recover web -f compose.yml"
    with pytest.raises(RolloutFailed) as caught:
        engine(platform, route_timeout=0.05, recover_command=command).run()
    short = [line for line in caught.value.left_behind if "fewer than before the batch" in line]
    assert short and short[0].endswith(f"run `{command}`") and "python -m lab" not in short[0]


def recover_on(platform: FakePlatform, desired: int = 2):
    return recover(
        platform, ReplicaWaits(platform, poll=0.001), RolloutLog(out=lambda _: None), desired, Release("v1"),
        health_timeout=0.2, route_timeout=0.2,
    )  # fmt: skip


def test_recover_whose_new_replica_breaks_the_router_takes_it_away_and_keeps_what_served():
    """The labels changed between a killed rollout and recover: the replica recover starts
    defines the router differently and Traefik drops it. Recover must see it, take its replica
    away (drained, out, stopped) and fail, leaving the replica that served serving."""
    platform = FakePlatform(count=1, new_behaviour={"breaks_router": True})
    with pytest.raises(RecoverFailed, match="taken away"):
        recover_on(platform)
    assert names(platform.serving()) == ["app-1"] and set(platform.replicas_by_id) == {"id1"}
    assert platform.route_problem() is None


def test_recover_checks_the_router_before_it_creates_anything():
    platform = FakePlatform(count=1)
    platform.by_name("app-1").breaks_router = True
    with pytest.raises(RecoverFailed, match="not starting"):
        recover_on(platform)
    assert not any(call.startswith(("scale_up", "drain", "stop", "remove")) for call in platform.calls)
