"""The engine the lab talks to is the one the docker CLI would use (zerodrop.adapters.docker_context)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from zerodrop.adapters import docker_sdk
from zerodrop.adapters.docker_context import DEFAULT_HOST, docker_endpoint, engine_tls
from zerodrop.errors import DockerUnavailable


def with_context(config: Path, name: str, host: str, current: bool = True) -> None:
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host}}}))
    if current:
        (config / "config.json").write_text(json.dumps({"currentContext": name}))


def test_the_resolution_order_is_the_clis(tmp_path):
    config = tmp_path / "cfg"
    with_context(config, "colima", "unix:///home/u/.colima/default/docker.sock")
    with_context(config, "desktop-linux", "unix:///home/u/.docker/desktop/docker.sock", current=False)
    env = {"DOCKER_CONFIG": str(config)}
    assert docker_endpoint(env) == ("unix:///home/u/.colima/default/docker.sock", "docker context 'colima'")
    env["DOCKER_CONTEXT"] = "desktop-linux"
    assert docker_endpoint(env)[0] == "unix:///home/u/.docker/desktop/docker.sock"
    env["DOCKER_HOST"] = "tcp://127.0.0.1:2375"
    assert docker_endpoint(env) == ("tcp://127.0.0.1:2375", "DOCKER_HOST")


def test_no_context_or_the_default_one_is_the_default_socket(tmp_path):
    assert docker_endpoint({"HOME": str(tmp_path)}) == (DEFAULT_HOST, "the default socket")
    config = tmp_path / ".docker"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"currentContext": "default"}))
    assert docker_endpoint({"HOME": str(tmp_path)})[0] == DEFAULT_HOST
    (config / "config.json").write_text("{broken")
    assert docker_endpoint({"HOME": str(tmp_path)})[0] == DEFAULT_HOST


def test_a_context_that_names_no_endpoint_falls_back_to_the_default(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    assert docker_endpoint({"DOCKER_CONFIG": str(tmp_path)})[0] == DEFAULT_HOST


def pem_files(folder: Path) -> None:
    """A self-signed certificate and its key (openssl), as ca.pem, cert.pem and key.pem."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "key.pem"),
         "-out", str(folder / "cert.pem"), "-days", "1", "-subj", "/CN=engine"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    (folder / "ca.pem").write_bytes((folder / "cert.pem").read_bytes())


def test_a_contexts_tls_is_read_where_the_docker_cli_wrote_it(tmp_path):
    """Contexts made by the real docker CLI (no engine needed): one with a CA and a client
    certificate, one that skips verification."""
    pem_files(tmp_path / "pki")
    pki = tmp_path / "pki"
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg"), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    for name, spec in [
        ("checked", f"host=tcp://engine.example:2376,ca={pki}/ca.pem,cert={pki}/cert.pem,key={pki}/key.pem"),
        ("unchecked", f"host=tcp://engine.example:2376,ca={pki}/ca.pem,skip-tls-verify=true"),
    ]:
        create = ["docker", "context", "create", name, "--docker", spec]
        subprocess.run(create, env=env, check=True, timeout=60, capture_output=True)
    checked = engine_tls({**env, "DOCKER_CONTEXT": "checked"})
    assert checked is not None and checked.verify and checked.cert and checked.key and checked.ca
    assert Path(checked.cert).read_bytes() == (pki / "cert.pem").read_bytes()
    unchecked = engine_tls({**env, "DOCKER_CONTEXT": "unchecked"})
    assert unchecked is not None and not unchecked.verify and unchecked.cert is None
    assert engine_tls(env) is None  # the default context: a plain socket


def test_docker_tls_verify_and_cert_path_are_read_with_docker_host(tmp_path):
    pem_files(tmp_path)
    env = {"DOCKER_HOST": "tcp://engine.example:2376", "DOCKER_TLS_VERIFY": "1"}
    env["DOCKER_CERT_PATH"] = str(tmp_path)
    tls = engine_tls(env)
    assert tls is not None and tls.verify and tls.ca == str(tmp_path / "ca.pem")
    assert engine_tls({"DOCKER_HOST": "tcp://engine.example:2375"}) is None


def test_an_ssh_engine_without_an_ssh_client_is_one_line(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "ssh://deploy@engine.example")
    monkeypatch.setattr("shutil.which", lambda *_args, **_kwargs: None)
    with pytest.raises(DockerUnavailable, match="install an ssh client"):
        docker_sdk.connect()
