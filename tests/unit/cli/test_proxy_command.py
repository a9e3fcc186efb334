"""`zerodrop rollout-proxy`'s checks, before anything changes: the flags that let a second Traefik
bind beside the first, the deadlines read from the old one's flags, the API found on the anchor,
the services whose streams are handed over; and bad input as one line and exit 2 before the
engine is asked (compose reads the files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerodrop.cli import main
from zerodrop.cli.proxy_target import api_url_of, streams_of
from zerodrop.proxy.traefik_flags import flags_of, reuseport_problems, seconds_of

ANCHORED = [
    "--providers.docker=true", "--providers.docker.exposedByDefault=false", "--entrypoints.web.address=:80",
    "--entrypoints.web.reusePort=true",
    "--api.insecure=true", "--entrypoints.traefik.address=:8080", "--entrypoints.traefik.reuseport=true",
    "--entrypoints.web.transport.lifeCycle.graceTimeOut=30s",
]  # fmt: skip


def test_every_entrypoint_the_api_s_too_must_bind_with_reuseport():
    assert reuseport_problems(flags_of(ANCHORED)) == []
    plain = flags_of(["--entrypoints.web.address=:80", "--api.insecure"])
    problems = reuseport_problems(plain)
    assert problems[0].startswith("entrypoint web has no reusePort")
    assert "default entrypoint `traefik` (:8080)" in problems[1]


def test_deadlines_come_from_the_old_traefik_s_flags_with_traefik_s_defaults():
    flags = flags_of(ANCHORED)
    assert seconds_of(flags, "gracetimeout", 10.0) == 30.0
    assert seconds_of(flags, "requestacceptgracetimeout", 0.0) == 0.0
    assert seconds_of(flags_of([]), "gracetimeout", 10.0) == 10.0


def test_the_api_is_found_on_the_port_the_anchor_publishes_and_streams_on_routed_services():
    config = {
        "services": {
            "anchor": {"ports": [{"target": 80, "published": "8088"}, {"target": 8080, "published": "8080"}]},
            "traefik": {"command": ANCHORED, "network_mode": "service:anchor"},
            "app": {"labels": {"traefik.enable": "true", "zerodrop.streams": "signal:SIGHUP"}},
            "worker": {"labels": {"zerodrop.streams": "signal:SIGHUP"}},
        }
    }
    assert api_url_of(config, "anchor", flags_of(ANCHORED)) == "http://127.0.0.1:8080"
    assert streams_of(config) == [("app", "SIGHUP")]


def one_line_exit_2(argv: list[str], capsys) -> str:
    code = main(argv)
    err: str = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("traefik", "said"),
    [
        ("    image: traefik:v3.7.15\n    command: [--providers.docker=true]\n"
         "    ports: ['127.0.0.1:8088:80']\n",
         "has its own network namespace"),
        ("    image: traefik:v3.7.15\n    network_mode: service:anchor\n"
         "    command: [--providers.docker=true, --entrypoints.web.address=:80]\n",
         "entrypoint web has no reusePort"),
    ],
)  # fmt: skip
def test_a_traefik_that_cannot_be_replaced_without_a_gap_is_exit_2_before_the_engine_is_asked(
    traefik, said, tmp_path: Path, capsys, monkeypatch
):
    import zerodrop.cli.proxy_target as command

    monkeypatch.setattr(command, "connect", lambda: pytest.fail("the engine was asked"))
    compose = tmp_path / "compose.yml"
    compose.write_text(f"services:\n  anchor:\n    image: python:3.12-slim\n  traefik:\n{traefik}")
    err = one_line_exit_2(["rollout-proxy", "-p", "p", "-f", str(compose)], capsys)
    assert said in err


def test_an_api_asked_inside_a_container_cannot_tell_two_traefiks_apart(capsys):
    err = one_line_exit_2(["rollout-proxy", "--traefik-api", "container:traefik"], capsys)
    assert "both Traefiks answer there" in err
