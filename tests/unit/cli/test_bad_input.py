"""Bad input gets one clear line and exit 2, and changes nothing, before any engine is asked:
a Traefik API URL that is not http(s) to a real port, a phase log that is not a phase log (never
truncated), a log path whose folders do not exist (nothing is created). And a missing docker
command is one line, not a traceback."""

from __future__ import annotations

import pytest

from zerodrop.adapters.docker_cli import run_docker
from zerodrop.cli import main
from zerodrop.errors import DockerCliError


def one_line_exit_2(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        main(argv)
    err: str = capsys.readouterr().err.strip()
    assert done.value.code == 2 and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://127.0.0.1:8080", "http or https"),
        ("http://127.0.0.1:99999", "not a port"),
        ("http://127.0.0.1:abc", "not a URL"),
        ("http://10.0.0.2:8080", "127.0.0.1 only"),
    ],
)
def test_a_traefik_api_url_that_cannot_be_is_exit_2_before_docker_is_asked(url, said, capsys, monkeypatch):
    import zerodrop.cli.service_target as target

    monkeypatch.setattr(
        target, "merged_config", lambda *_: pytest.fail("compose was asked before the URL was checked")
    )
    code = main(["status", "web", "--traefik-api", url])
    err = capsys.readouterr().err.strip()
    assert code == 2 and said in err and len(err.splitlines()) == 1, err


def test_a_log_that_is_not_a_phase_log_is_refused_and_left_as_it_was(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    err = one_line_exit_2(["rollout", "web", "--image", "shop:v2", "--log", str(notes)], capsys)
    assert "not a zerodrop phase log" in err and notes.read_text() == "my notes\n"


def test_a_log_in_folders_that_do_not_exist_creates_nothing_while_input_is_refused(tmp_path, capsys):
    log = tmp_path / "new" / "deeper" / "phases.jsonl"
    assert main(["rollout", "web", "--image", "shop:v2", "--max-surge", "0", "--log", str(log)]) == 2
    assert "--max-surge must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_missing_docker_command_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DockerCliError, match="no docker command on PATH") as caught:
        run_docker("compose", "version", env={"PATH": "/nonexistent"})
    assert "\n" not in str(caught.value)
