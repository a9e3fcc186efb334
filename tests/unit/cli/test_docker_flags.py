"""`docker [docker's flags] zerodrop ...`: docker's global flags reach zerodrop as the environment
the docker CLI, the SDK and compose read, through the real docker CLI and its plugin protocol."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from zerodrop import __version__
from zerodrop.cli import main
from zerodrop.cli.docker_flags import docker_flags
from zerodrop.cli.plugin import AS_PLUGIN, PLUGIN_NAME, install_plugin, uninstall_plugin
from zerodrop.errors import InputError

TAIL = ["zerodrop", "status", "web"]


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        (["--context", "prod", "zerodrop", "status", "web"], {"DOCKER_CONTEXT": "prod"}),
        (["--context=prod", "zerodrop", "status", "web"], {"DOCKER_CONTEXT": "prod"}),
        (["-c", "prod", "zerodrop", "status", "web"], {"DOCKER_CONTEXT": "prod"}),
        (["-cprod", "zerodrop", "status", "web"], {"DOCKER_CONTEXT": "prod"}),
        (["-H", "ssh://deploy@box", "zerodrop", "status", "web"], {"DOCKER_HOST": "ssh://deploy@box"}),
        (["--host=tcp://box:2376", "zerodrop", "status", "web"], {"DOCKER_HOST": "tcp://box:2376"}),
        (["--config", "/etc/dk", "zerodrop", "status", "web"], {"DOCKER_CONFIG": "/etc/dk"}),
        (["--tlsverify", "zerodrop", "status", "web"], {"DOCKER_TLS_VERIFY": "1"}),
        (["--tlsverify=false", "--tls", "zerodrop", "status", "web"], {"DOCKER_TLS": "1"}),
        (["-l", "debug", "-D", "zerodrop", "status", "web"], {}),
        (["--log-level=info", "zerodrop", "status", "web"], {}),
        (
            ["--tlscacert", "/c/ca.pem", "--tlscert=/c/cert.pem", "--tlskey", "/c/key.pem", *TAIL],
            {"DOCKER_CERT_PATH": "/c"},
        ),
        (["zerodrop", "status", "web"], {}),
    ],
)
def test_dockers_flags_before_the_plugins_name_become_dockers_environment(argv, environ):
    found = docker_flags(argv)
    assert found.environ == environ and found.argv == ["status", "web"]


def test_a_flag_after_the_plugins_name_is_zerodrops_own():
    assert docker_flags(["zerodrop", "rollout", "web", "-c", "x"]).argv == ["rollout", "web", "-c", "x"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--orchestrator", "swarm", "zerodrop", "status"],  # not a flag zerodrop can honour
        ["-H", "tcp://a:2376", "-H", "tcp://b:2376", "zerodrop", "status"],  # two engines
        ["--tlscacert", "/c/ca.pem", "--tlscert", "/d/cert.pem", "zerodrop", "status"],  # two folders
        ["--tlscert", "/c/client.crt", "zerodrop", "status"],  # a name docker clients do not look for
        ["--context"],  # no value
    ],
)
def test_a_docker_flag_zerodrop_cannot_honour_is_one_line(argv):
    with pytest.raises(InputError):
        docker_flags(argv)


def test_the_plugins_main_sets_the_environment_then_runs_zerodrop(monkeypatch, capsys):
    monkeypatch.setenv(AS_PLUGIN, "1")
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")  # restored afterwards
    with pytest.raises(SystemExit) as done:
        main(["-H", "unix:///tmp/other.sock", "zerodrop", "--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"zerodrop {__version__}"
    assert os.environ["DOCKER_HOST"] == "unix:///tmp/other.sock" and AS_PLUGIN not in os.environ


def test_the_plugins_main_refuses_an_unknown_docker_flag_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv(AS_PLUGIN, "1")
    assert main(["--orchestrator", "swarm", "zerodrop", "status", "web"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_docker_with_its_own_flags_runs_the_plugin_and_uninstall_removes_it(tmp_path, monkeypatch):
    # The docker client (no engine needed: docker hands the plugin its command line without one).
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    shim = install_plugin(command=[sys.executable, "-m", "zerodrop"])
    for flags in (["--context", "default"], ["-H", "unix:///tmp/zerodrop-no-engine.sock"], ["-l", "error"]):
        command = ["docker", *flags, "zerodrop", "--version"]
        shown = subprocess.run(command, capture_output=True, text=True, check=False)
        assert (shown.returncode, shown.stdout.strip()) == (0, f"zerodrop {__version__}"), shown.stderr
    listed = subprocess.run(["docker", "--help"], capture_output=True, text=True, check=True).stdout
    assert sys.executable in listed  # `docker --help` says which zerodrop the plugin runs
    assert uninstall_plugin() == shim and not shim.exists() and uninstall_plugin() is None


def test_uninstall_leaves_a_docker_zerodrop_it_did_not_write(tmp_path):
    other = tmp_path / PLUGIN_NAME
    other.write_text("#!/bin/sh\necho someone else's\n")
    with pytest.raises(InputError):
        uninstall_plugin(tmp_path)
    assert other.exists()
