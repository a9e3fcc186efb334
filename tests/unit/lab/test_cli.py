"""Bad command lines: one clear line on stderr, exit status 2, and nothing run (no Docker here)."""

from __future__ import annotations

import pytest

from lab.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rollout", "--to", "v2", "--timeout", "nan"], "positive, finite"),
        (["rollout", "--to", "v2", "--timeout", "inf"], "positive, finite"),
        (["rollout", "--to", "v2", "--route-timeout", "-1"], "positive, finite"),
        (["rollback", "--timeout", "soon"], "not a number"),
        (["recover", "--route-timeout", "nan"], "positive, finite"),
        (["probe", "--short-rate", "inf"], "finite number"),
        (["probe", "--duration", "nan"], "positive, finite"),
        (["rollout"], "--to"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("lab: ") and message in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rollout", "--to", "v2", "--set", "APP_HOST=x.localhost"], "--set APP_HOST"),
        (["rollout", "--to", "v2", "--set", "APP_PORT=9000"], "--set APP_PORT"),
        (["rollout", "--to", "v2", "--set", "COMPOSE_FILE=x.yml"], "compose or Docker itself"),
        (["rollout", "--to", "v2", "--set", "DOCKER_HOST=tcp://x"], "compose or Docker itself"),
        (["rollout", "--to", "v2", "--set", "NOT_READ=1"], "does not use it"),
        (["rollout", "--to", "v2", "--max-surge", "0"], "--max-surge"),
        (["rollout", "--to", "bad!tag"], "not a valid image tag"),
    ],
)
def test_rollout_input_is_refused_before_docker_is_asked(argv, message, capsys, monkeypatch):
    """With the engine unreachable, bad input still says what is wrong (exit 2), not that the
    engine is unreachable; a --set that would change routing or compose is bad input."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert message in err, err


def test_set_accepts_a_variable_only_the_environment_reads(capsys, monkeypatch):
    """SLOW_SECONDS is read by the app's environment alone: it passes the check and the command
    goes on to Docker (unreachable here: exit 5, nothing changed, not 2)."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["rollout", "--to", "v2", "--set", "SLOW_SECONDS=3"]) == 5  # nothing was changed
    assert "unreachable" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["probe", "--long-seconds", "1000"], "at most 120"),
        (["logs", "--tail", "-5"], "whole number"),
        (["rollout", "--to", "v2", "--log", "/proc/no-such/x.jsonl"], "cannot be written"),
        (["probe", "--report", "/proc/no-such/r.json"], "cannot be written"),
    ],
)
def test_arguments_checked_before_anything_runs(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LAB_HTTP_PORT", "70000", "at most 65535"),
        ("LAB_API_PORT", "65536", "at most 65535"),
        ("LAB_PROJECT", "../escape", "project name"),
        ("APP_HOST", "x`) || Host(`evil", "host name"),
    ],
)
def test_settings_that_would_escape_or_break_are_bad_input(variable, value, message, capsys, monkeypatch):
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_swarm_rollout_refuses_a_bad_tag_before_docker(capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["swarm", "rollout", "--to", "bad!tag"]) == 2
    assert "not a valid image tag" in capsys.readouterr().err


def test_report_of_a_file_that_is_not_a_probe_report(tmp_path, capsys):
    for text in ("{}", "not json", "[1]"):
        path = tmp_path / "r.json"
        path.write_text(text)
        assert main(["report", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is not a probe report" in err, err
