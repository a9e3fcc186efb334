"""The engine the lab talks to is the one the docker CLI would use (zerodrop.adapters.docker_context)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from zerodrop.adapters.docker_context import DEFAULT_HOST, docker_endpoint


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
