"""With no -f, `zerodrop lint` and `zerodrop rollout` read exactly what `docker compose config`
reads: the override file beside the compose file, COMPOSE_FILE (from the environment or `.env`)
with COMPOSE_PATH_SEPARATOR, and the nearest parent folder with a compose file. Runs the real
compose CLI (no engine needed); compose's own words come through when it cannot read the files.
`make test` installs the plugin first (make setup)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from zerodrop.cli import main
from zerodrop.cli.compose_flags import merged_config
from zerodrop.errors import RolloutInputError

BASE = """\
services:
  web:
    image: shop:v1
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`shop.localhost`)
      - zerodrop.drain=file:/tmp/drain
      - zerodrop.longest-request=30s
      - zerodrop.keepalive=none
    healthcheck:
      test: ["CMD", "test", "!", "-e", "/tmp/drain"]
      interval: 1s
      timeout: 1s
      retries: 1
    stop_grace_period: 10s
"""
OVERRIDE = """\
services:
  web:
    stop_grace_period: 40s
"""


def compose_config(cwd: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    """What `docker compose config` itself reads there."""
    assert shutil.which("docker"), "the docker CLI and its compose plugin are needed: make setup"
    done = subprocess.run(
        ["docker", "compose", "config", "--format", "json"],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def no_flags() -> argparse.Namespace:
    return argparse.Namespace(files=[], project_name=None, project_directory=None, env_files=[], profiles=[])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yml").write_text(BASE)
    (tmp_path / "compose.override.yml").write_text(OVERRIDE)
    (tmp_path / "deeper" / "still").mkdir(parents=True)
    return tmp_path


def grace(config: dict[str, object]) -> object:
    return config["services"]["web"]["stop_grace_period"]  # type: ignore[index]


def test_the_override_file_beside_the_compose_file_is_read(project, monkeypatch):
    monkeypatch.chdir(project)
    target, config = merged_config(no_flags(), "web")
    assert config == compose_config(project) and grace(config) == "40s"
    assert target.compose_files == (project / "compose.yml", project / "compose.override.yml")


def test_a_parent_folders_files_are_read_from_below(project, monkeypatch):
    below = project / "deeper" / "still"
    monkeypatch.chdir(below)
    _, config = merged_config(no_flags(), "web")
    assert config == compose_config(below) and grace(config) == "40s"


def test_compose_file_and_its_separator_are_honoured_from_the_environment_and_from_dotenv(
    project, monkeypatch
):
    (project / "prod.yml").write_text("services:\n  web:\n    stop_grace_period: 55s\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("COMPOSE_FILE", "compose.yml;prod.yml")
    monkeypatch.setenv("COMPOSE_PATH_SEPARATOR", ";")
    target, config = merged_config(no_flags(), "web")
    assert config == compose_config(project) and grace(config) == "55s"
    assert target.compose_files == (project / "compose.yml", project / "prod.yml")
    monkeypatch.delenv("COMPOSE_FILE")
    monkeypatch.delenv("COMPOSE_PATH_SEPARATOR")
    (project / ".env").write_text("COMPOSE_FILE=compose.yml:prod.yml\n")
    _, config = merged_config(no_flags(), "web")
    assert config == compose_config(project) and grace(config) == "55s"


def test_lint_with_no_file_flag_weighs_the_override_files_grace_not_the_base_files(
    project, monkeypatch, capsys
):
    """40 s of grace in the override covers the 30 s request: no grace trap. The base file alone
    (10 s) would have given one."""
    monkeypatch.chdir(project)
    main(["lint"])
    out = capsys.readouterr().out
    assert "stop grace period" not in out.replace("below its stop grace period", ""), out
    main(["lint", "-f", "compose.yml"])
    assert "stop grace period 10s is below" in capsys.readouterr().out


def test_compose_own_words_come_through_when_it_cannot_read_the_files(tmp_path, monkeypatch):
    (tmp_path / "compose.yml").write_text("services:\n  web:\n    image: [not, an, image\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RolloutInputError) as refused:
        merged_config(no_flags(), "web")
    said = str(refused.value)
    assert said.startswith("docker compose config: ") and "yaml" in said.lower() and "\n" not in said


def test_lint_refuses_a_drain_signal_that_stops_the_process_with_one_line_and_exit_2(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "compose.yml").write_text(BASE.replace("file:/tmp/drain", "signal:SIGKILL/SIGUSR2"))
    monkeypatch.chdir(tmp_path)
    assert main(["lint"]) == 2
    err = capsys.readouterr().err.strip()
    assert "SIGKILL cannot be used" in err and len(err.splitlines()) == 1
