"""The workshop's lessons, kept true: each broken variant really fails on the real stack, and
each fixed variant drops nothing and loses no write. Every variant runs on a fresh stack."""

from __future__ import annotations

import pytest

from lab.compose_lab import ensure_images
from lab.config import load_config
from lab.workshop import BROKEN, FIXED, RECIPE, SCENARIOS, Outcome, keepalive_race

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def base(docker_client, tmp_path_factory):
    cfg = load_config().with_overrides(out_dir=tmp_path_factory.mktemp("workshop"))
    ensure_images(docker_client, cfg)
    return cfg


def run(docker_client, base, number: int | str, variant: str) -> Outcome:
    outcome = SCENARIOS[str(number)].run(docker_client, base, variant)
    print(outcome.line())  # the figures land in the test log
    return outcome


def assert_clean(outcome: Outcome) -> None:
    failures = [(r.kind, r.error) for r in outcome.probe.failures] if outcome.probe else []
    assert failures == [], f"the fixed variant failed {len(failures)} requests: {failures[:10]}"
    assert outcome.lost_writes == 0 and outcome.acked_writes > 0


def kinds(outcome: Outcome) -> set[str]:
    return {r.error or "" for r in outcome.probe.failures} if outcome.probe else set()


def test_01_recreate_all_has_an_outage_and_the_rollout_has_none(docker_client, base):
    broken = run(docker_client, base, 1, BROKEN)
    assert broken.failed > 0 and broken.outage_seconds > 1.0
    assert "http-404" in kinds(broken), "with no replica left, Traefik's router disappears: 404"
    assert_clean(run(docker_client, base, 1, FIXED))


def test_02_manual_recipe_sends_traffic_to_stopping_containers(docker_client, base):
    broken = run(docker_client, base, 2, BROKEN)
    assert broken.failed > 0 and "http-502" in kinds(broken), "Traefik routed to a stopping replica"
    assert broken.exit_codes == [0, 0], "the old replicas themselves shut down cleanly"
    assert_clean(run(docker_client, base, 2, FIXED))


def test_03_graceful_shutdown_alone_is_not_enough_drain_first(docker_client, base):
    broken = run(docker_client, base, 3, BROKEN)
    assert broken.failed > 0 and "http-502" in kinds(broken)
    served = broken.figures["stopped replica's long requests"]
    assert served > 0 and broken.figures["of them completed 200"] == served, "in-flight requests finish"
    assert_marked_in_order(broken, ["docker stop -t 30", "SIGTERM", "Traefik drops", "exit"])
    fixed = run(docker_client, base, 3, FIXED)
    assert_clean(fixed)
    assert fixed.exit_codes == [0]
    assert_marked_in_order(fixed, ["SIGUSR1", "Traefik drops", "docker stop -t 30", "SIGTERM", "exit"])


def assert_marked_in_order(outcome: Outcome, expected: list[str]) -> None:
    """The timeline's marks (the engine's events, Traefik's API, the commands) show what happened to
    the stopped replica in this order: the picture tells the lesson."""
    assert outcome.victim_name, "the action names the replica it stops"
    seen = [what for _, what, replica in sorted(outcome.marks) if replica in {"", outcome.victim_name}]
    firsts = [seen.index(what) for what in expected if what in seen]
    assert len(firsts) == len(expected) and firsts == sorted(firsts), (expected, seen)


def test_04_slow_start_without_readiness_gets_traffic_too_early(docker_client, base):
    broken = run(docker_client, base, 4, BROKEN)
    assert broken.failed > 0 and kinds(broken) <= {"http-503", "http-502"}
    assert_clean(run(docker_client, base, 4, FIXED))


def test_05_stop_timeout_shorter_than_the_request_cuts_it(docker_client, base):
    broken = run(docker_client, base, 5, BROKEN)
    assert broken.figures["long requests cut"] > 0 and broken.exit_codes == [137]
    fixed = run(docker_client, base, 5, FIXED)
    assert_clean(fixed)
    assert fixed.exit_codes == [0]


def test_06_shutdown_work_longer_than_grace_loses_writes(docker_client, base):
    broken = run(docker_client, base, 6, BROKEN)
    assert broken.exit_codes == [137] and broken.lost_writes > 0
    assert broken.lost_writes == broken.figures["writes acknowledged by the stopped replica"]
    fixed = run(docker_client, base, 6, FIXED)
    assert_clean(fixed)
    assert fixed.exit_codes == [0]


def test_keep_alive_race_measurement_fixed_setting_has_no_502(docker_client, base, monkeypatch):
    """The smoke test of `make keepalive-race`: the fixed setting (the app keeps idle connections
    30 s, Traefik only 10 s, so the proxy always closes first) under the page's first 11 bursts of
    81: not one failure. The broken variant is a measurement, not an assertion (the race is rare on
    one host; see docs/workshop/keep-alive-race.md): it runs in `make keepalive-race`, not in CI,
    where it asserted nothing but that it ran."""
    monkeypatch.setattr(keepalive_race, "KEEPALIVE_GAPS", keepalive_race.KEEPALIVE_GAPS[:10])
    fixed = run(docker_client, base, "keepalive-race", FIXED)
    assert fixed.figures["app keep-alive s"] == 30 and fixed.figures["bursts"] == 11
    assert_clean(fixed)


def dropped_streams(outcome: Outcome) -> dict[str, int]:
    report = outcome.probe.streams_report() if outcome.probe else None
    assert report is not None and report.lanes == 6, "the page holds 4 SSE streams and 2 WebSockets"
    return dict(report.drops)


def test_09_long_lived_connections_survive_only_the_rollout(docker_client, base):
    """Every variant replaces both replicas under the load plus 6 held streams. docker stop and
    the drain + sleep 10 recipe both leave the streams on the old replicas until the stop cuts
    them (counted, by kind); the rollout ends them with a goodbye once Traefik has dropped the
    replica, and every stream resumes on a new one with no gap."""
    broken = run(docker_client, base, 9, BROKEN)
    assert sum(dropped_streams(broken).values()) > 0, "docker stop cut no stream"
    recipe = run(docker_client, base, 9, RECIPE)
    assert sum(dropped_streams(recipe).values()) > 0, "the recipe's sleep let the streams finish?"
    fixed = run(docker_client, base, 9, FIXED)
    assert_clean(fixed)
    assert dropped_streams(fixed) == {}
    assert fixed.figures["streams handed over"] >= 6


def test_11_the_articles_recipe_routes_to_stopping_containers_and_the_rollout_drops_nothing(
    docker_client, base
):
    """The article's Go program in its own project. Its own setup (no healthcheck) and recipe:
    Traefik keeps routing to the two containers `docker stop` is shutting down, whose listener Go's
    Shutdown closed at once, so requests fail after the stop, for as long as their in-flight
    requests keep them alive. With only what apply.md asks added, `zerodrop rollout`: 0 failed,
    exit 0."""
    broken = run(docker_client, base, 11, BROKEN)
    assert broken.failed > 0 and broken.figures.get("failing s after docker stop", 0) > 1.0, broken.line()
    fixed = run(docker_client, base, 11, FIXED)
    assert fixed.probe is not None and fixed.probe.failures == [], fixed.line()
    assert fixed.figures["zerodrop exit"] == 0, fixed.line()


def test_12_recreating_traefik_cuts_everything_and_the_proxy_rollout_drops_nothing(docker_client, base):
    """Traefik in the anchor's namespace, its graceTimeOut changed: compose's recreate fails
    requests (kept-alive and fresh connections alike) and cuts the streams; `zerodrop
    rollout-proxy` first undoes an attempt with an image that cannot run Traefik (the old one
    serves on), then replaces Traefik with no request failed, on kept-alive or fresh connections,
    and every stream handed over. The one failure it allows is HTTP/1.1's idle-close race: a
    reset begun within 0.5 s of an old Traefik's SIGTERM (1 write of 2,003 in a CI-like run at
    e543939; none in four runs before)."""
    broken = run(docker_client, base, 12, BROKEN)
    assert broken.failed > 0 and broken.figures["streams dropped"] > 0
    assert broken.figures["fresh-connection failed"] > 0
    fixed = run(docker_client, base, 12, FIXED)
    assert SCENARIOS["12"].verdict is not None and SCENARIOS["12"].verdict(fixed) == []
    assert fixed.lost_writes == 0 and fixed.acked_writes > 0
    assert fixed.figures["requests reset at a Traefik's SIGTERM (idle-close race)"] <= 2, "a race, not a rule"
