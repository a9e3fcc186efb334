"""The Swarm lab's pure logic: settings and their derivation, the stack file's agreement with them,
the task documents Swarm answers, when a stack counts as settled, and the advertise address."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lab.config import REPO_ROOT
from lab.swarm.config import load_swarm_config, swarm_lame_duck
from lab.swarm.routing import SwarmRouting, TaskView, _task_view
from lab.swarm.stack import default_route_address
from zerodrop.errors import ConfigError

STACK_FILE = REPO_ROOT / "docker-stack.yml"


def test_lame_duck_and_stop_grace_follow_the_poll_unless_set():
    cfg = load_swarm_config({}, root=Path("/nonexistent"))
    assert (cfg.refresh_seconds, cfg.drain_seconds, cfg.stop_grace_seconds) == (15, 19, 45)
    fast = load_swarm_config({"SWARM_REFRESH_SECONDS": "2"}, root=Path("/nonexistent"))
    assert (fast.drain_seconds, fast.stop_grace_seconds) == (6, 32)
    broken = cfg.with_refresh(15, 0)
    assert (broken.drain_seconds, broken.stop_grace_seconds) == (0, 26)
    pinned = load_swarm_config(
        {"SWARM_DRAIN_SECONDS": "30", "SWARM_STOP_GRACE_PERIOD": "70s"}, root=Path("/nonexistent")
    )
    assert (pinned.drain_seconds, pinned.stop_grace_seconds) == (30, 70)
    assert swarm_lame_duck(1) == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [("SWARM_REFRESH_SECONDS", "0"), ("SWARM_REFRESH_SECONDS", "1.5"), ("SWARM_HTTP_PORT", "http")],
)
def test_bad_swarm_settings_are_one_clear_error(name, value):
    with pytest.raises(ConfigError, match=name):
        load_swarm_config({name: value}, root=Path("/nonexistent"))


def test_stack_env_names_every_variable_the_stack_file_reads_with_the_same_defaults():
    """Drift guard: the stack file's own defaults (used by a bare `docker stack deploy`) are what
    the lab derives for Traefik's default poll, and the lab passes every variable it reads."""
    text = STACK_FILE.read_text(encoding="utf-8")
    cfg = load_swarm_config({}, root=Path("/nonexistent"))
    for name, value in cfg.stack_env("v1").items():
        if name in {"SWARM_STACK", "SWARM_REFRESH_SECONDS", "SWARM_DRAIN_SECONDS", "SWARM_HTTP_PORT"}:
            assert f"${{{name}:-{value}}}" in text, f"docker-stack.yml's default for {name} differs"
    assert "${SWARM_STOP_GRACE_PERIOD:-45s}" in text
    assert f"${{SWARM_API_PORT:-{cfg.api_port}}}" in text


def test_stack_file_update_and_rollback_settings():
    """The settings the Swarm lab tests rely on, read from the file as Swarm would."""
    stack = yaml.safe_load(STACK_FILE.read_text(encoding="utf-8"))
    app = stack["services"]["app"]
    update = app["deploy"]["update_config"]
    assert update["order"] == "start-first" and update["failure_action"] == "rollback"
    assert update["max_failure_ratio"] == 0 and update["parallelism"] == 1
    assert app["deploy"]["rollback_config"]["order"] == "start-first"
    assert app["healthcheck"]["retries"] == 1
    assert any("loadbalancer.server.port" in label for label in app["deploy"]["labels"])
    traefik = stack["services"]["traefik"]
    assert all(port["mode"] == "host" for port in traefik["ports"])
    assert any(arg.startswith("--providers.swarm.refreshSeconds=") for arg in traefik["command"])
    assert stack["networks"]["lab"] == {"driver": "overlay", "attachable": True}


def task_doc(
    version: str, state: str, desired: str, ip: str | None, network: str = "zd_lab"
) -> dict[str, object]:
    attachments = [{"Network": {"Spec": {"Name": network}}, "Addresses": [f"{ip}/24"]}] if ip else []
    return {
        "ID": "abcdef1234567890",
        "Slot": 1,
        "DesiredState": desired,
        "Status": {"State": state},
        "Spec": {"ContainerSpec": {"Env": [f"APP_VERSION={version}", "APP_PORT=8000"]}},
        "NetworksAttachments": attachments,
    }


def test_task_view_reads_version_state_and_the_stack_network_address():
    view = _task_view(task_doc("v2", "running", "running", "10.0.1.7"), "zd_lab")
    assert (view.version, view.ip, view.serving, view.id) == ("v2", "10.0.1.7", True, "abcdef123456")
    stopping = _task_view(task_doc("v1", "running", "shutdown", "10.0.1.5"), "zd_lab")
    assert not stopping.serving
    other_network = _task_view(task_doc("v1", "running", "running", "10.0.9.5", network="x"), "zd_lab")
    assert other_network.ip is None


def serving(version: str, ip: str) -> TaskView:
    return TaskView("t", 1, version, "running", "running", ip)


def test_settled_needs_every_task_at_the_version_routed_and_no_other_container():
    tasks = [serving("v2", "10.0.1.7"), serving("v2", "10.0.1.8")]
    routed = {"10.0.1.7", "10.0.1.8"}
    assert SwarmRouting(tasks, routed, 2).settled_at("v2", 2)
    assert not SwarmRouting(tasks, routed, 3).settled_at("v2", 2), "an old task still finishing"
    assert not SwarmRouting(tasks, {"10.0.1.7"}, 2).settled_at("v2", 2), "Traefik has not polled yet"
    assert not SwarmRouting(tasks, routed | {"10.0.1.5"}, 2).settled_at("v2", 2), "stale route"
    assert not SwarmRouting(tasks[:1], {"10.0.1.7"}, 1).settled_at("v2", 2)
    assert not SwarmRouting([serving("v1", "10.0.1.7"), tasks[1]], routed, 2).settled_at("v2", 2)


def test_default_route_address_reads_the_route_table(tmp_path):
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\neth9\t0000A8C0\t00000000\t0001\nlo\t00000000\t0102A8C0\t0003\n",
        encoding="utf-8",
    )
    assert default_route_address(table) == "127.0.0.1"
    table.write_text("Iface\tDestination\tGateway\tFlags\n", encoding="utf-8")
    assert default_route_address(table) is None
    assert default_route_address(tmp_path / "missing") is None
