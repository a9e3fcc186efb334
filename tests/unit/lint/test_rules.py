"""`lab lint`: the lab's own compose file passes, and a fixture per trap fails with that trap."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import main
from zerodrop.errors import LintInputError
from zerodrop.lint.rules import interpolate, parse_duration
from zerodrop.lint.run import lint_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lint"
REPO = Path(__file__).resolve().parents[3]


def test_the_lab_compose_file_has_no_trap():
    assert lint_file(REPO / "docker-compose.yml", environ={}) == []


def test_the_clean_fixture_has_no_trap():
    assert lint_file(FIXTURES / "good.yml", environ={}) == []


@pytest.mark.parametrize(
    "trap",
    [
        "grace-request",
        "grace-shutdown-work",
        "graceful-timeout",
        "keepalive",
        "healthcheck",
        "ports",
        "container-name",
        "networks",
    ],
)
def test_each_trap_is_found_and_names_its_page(trap):
    findings = lint_file(FIXTURES / f"{trap}.yml", environ={})
    assert [f.code for f in findings] == [trap]
    line = findings[0].line()
    assert line.startswith("service app: ") and "docs/workshop/" in line and "\n" not in line


def test_shell_form_cmd_in_the_dockerfile_is_found():
    findings = lint_file(FIXTURES / "shell-cmd" / "docker-compose.yml", environ={})
    assert [f.code for f in findings] == ["shell-cmd"]
    assert "CMD is shell form" in findings[0].message


def test_variables_are_interpolated_like_compose():
    assert interpolate("${A:-x} ${B-y} ${C} $$D ${E:-${F:-z}}", {"A": "", "B": "", "C": "c"}) == "x  c $D z"
    codes = [f.code for f in lint_file(FIXTURES / "good.yml", environ={"GRACE": "12s"})]
    assert codes == ["grace-request", "graceful-timeout"], "a 12 s grace is short on both counts"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), (45, 45), (None, 10)]
)
def test_durations(text, seconds):
    assert parse_duration(text, 10) == seconds


def test_unreadable_input_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(LintInputError):
        parse_duration("soon", 10)
    (tmp_path / "bad.yml").write_text("services: [unclosed\n")
    assert main(["lint", "-f", str(tmp_path / "bad.yml")]) == 2
    assert main(["lint", "-f", str(tmp_path / "missing.yml")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_cli_exit_codes(capsys):
    assert main(["lint", "-f", str(FIXTURES / "good.yml")]) == 0
    assert main(["lint", "-f", str(FIXTURES / "ports.yml")]) == 1
    out = capsys.readouterr().out
    assert "no traps found" in out and "02-manual-recipe.md" in out


def test_slow_detection_and_a_slow_provider_throttle_are_warnings_not_traps(tmp_path):
    """Docker's default 30 s interval on 4 replicas: each batch waits ~62 s for health to change,
    so a one-at-a-time rollout takes minutes; a 5 s provider throttle delays every routing change."""
    text = (FIXTURES / "good.yml").read_text(encoding="utf-8")
    slow = text.replace("interval: 1s", "interval: 30s\n      retries: 1").replace(
        "      - --providers.docker.exposedByDefault=false",
        "      - --providers.docker.exposedByDefault=false\n      - --providers.providersThrottleDuration=5s",
    )
    assert slow != text and "ThrottleDuration=5s" in slow
    path = tmp_path / "slow.yml"
    path.write_text(slow.replace("  app:\n", "  app:\n    deploy: {replicas: 4}\n", 1), encoding="utf-8")
    found = {f.code: f for f in lint_file(path, environ={})}
    assert set(found) == {"slow-detection", "provider-throttle"}
    assert all(f.warning and f.line().startswith("warning: ") for f in found.values())
    assert "4 replica(s) one at a time takes at least" in found["slow-detection"].message


def test_start_interval_is_recommended_only_for_a_slow_interval_on_an_engine_that_has_it(monkeypatch):
    """Engine 25+ (API 1.44): a 30 s interval without start_interval is a warning, and the lab's
    file with the start-interval override (or its 1 s interval) is not. Engine 20.10 (API 1.41)
    or no engine: never recommended, since compose would refuse the key."""
    from zerodrop.lint import engine_rules
    from zerodrop.lint.engine_rules import START_INTERVAL_RULES, supports_start_interval

    slow = lint_file(
        REPO / "docker-compose.yml", environ={"APP_HEALTH_INTERVAL": "30s"}, rules=START_INTERVAL_RULES
    )
    assert [f.code for f in slow] == ["start-interval"] and "start_interval: 1s" in slow[0].message
    assert slow[0].warning
    assert lint_file(REPO / "docker-compose.yml", environ={}, rules=START_INTERVAL_RULES) == []
    assert supports_start_interval("1.45") and supports_start_interval("1.44")
    assert not supports_start_interval("1.41") and not supports_start_interval(None)
    monkeypatch.setattr(engine_rules, "engine_api_version", lambda: "1.41")
    assert engine_rules.engine_rules() == []
    monkeypatch.setattr(engine_rules, "engine_api_version", lambda: "1.45")
    assert engine_rules.engine_rules() == START_INTERVAL_RULES


def test_the_start_interval_override_satisfies_the_rule():
    from zerodrop.adapters.compose_file import load_compose
    from zerodrop.lint.engine_rules import START_INTERVAL_RULES
    from zerodrop.lint.run import lint_compose

    base = load_compose(REPO / "docker-compose.yml", {"APP_HEALTH_INTERVAL": "30s"})
    base["services"]["app"]["healthcheck"]["start_interval"] = "1s"  # what the override file adds
    assert lint_compose(base, REPO, rules=START_INTERVAL_RULES) == []


def test_compose_merge_tags_in_override_files_are_read(tmp_path):
    """Override files may use compose's `!override` and `!reset`: read as the plain value and as
    nothing, not refused as invalid YAML (the start_interval bench's ports file uses one)."""
    from zerodrop.adapters.compose_file import load_compose, settable_variables

    override = tmp_path / "override.yml"
    override.write_text(
        "services:\n  traefik:\n    ports: !override\n      - '${LAB_HTTP_PORT:-8088}:80'\n"
        "  app:\n    ports: !reset []\n    environment:\n      SLOW_SECONDS: ${SLOW_SECONDS:-15}\n"
    )
    data = load_compose(override, environ={})
    assert data["services"]["traefik"]["ports"] == ["8088:80"] and data["services"]["app"]["ports"] is None
    settable, elsewhere = settable_variables((REPO / "docker-compose.yml", override), "app")
    assert "SLOW_SECONDS" in settable and "LAB_HTTP_PORT" in elsewhere
