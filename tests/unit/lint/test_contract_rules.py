"""`zerodrop lint`'s rules for any service (drain contract, grace against drain detection, longest
request and shutdown work) and Traefik's static configuration read from a traefik.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zerodrop.errors import LintInputError, RolloutInputError
from zerodrop.lint.contract_rules import TOOL_RULES
from zerodrop.lint.rules import Finding
from zerodrop.lint.run import lint_compose
from zerodrop.lint.traefik_static import TraefikStatic, from_file

CHECK = ["CMD", "bash", "-c", "test ! -e /tmp/drain && exec 3<>/dev/tcp/127.0.0.1/8000"]
FAST = TraefikStatic(idle=1.0, throttle=0.5)


def shop(labels: dict[str, str] | None = None, **settings: Any) -> dict[str, Any]:
    """The example shop's service as `docker compose config --format json` gives it."""
    service = {
        "image": "shop:v1",
        "labels": {
            "traefik.enable": "true",
            "zerodrop.drain": "file:/tmp/drain",
            "zerodrop.longest-request": "30s",
            "zerodrop.keepalive": "2s",
            **(labels or {}),
        },
        "healthcheck": {"test": CHECK, "interval": "1s", "timeout": "1s", "retries": 1},
        "stop_grace_period": "40s",
        **settings,
    }
    return {"name": "shop", "services": {"api": service}}


def lint(data: dict[str, Any], static: TraefikStatic = FAST) -> dict[str, Finding]:
    return {f.code: f for f in lint_compose(data, Path("."), static, TOOL_RULES)}


def test_the_example_shop_passes():
    assert lint(shop()) == {}


def test_no_drain_contract_is_a_trap_naming_the_three_and_its_page():
    found = lint(shop({"zerodrop.drain": ""}))
    assert set(found) == {"drain-contract"}
    assert "signal:DRAIN/UNDRAIN, file:/PATH" in found["drain-contract"].message
    assert found["drain-contract"].page == "docs/apply.md#the-drain-contract"


def test_a_streams_signal_must_be_readable_and_wants_an_inflight_endpoint():
    inflight = {"zerodrop.inflight": "http://127.0.0.1:8000/stats#inflight"}
    assert lint(shop({"zerodrop.streams": "signal:SIGHUP", **inflight})) == {}
    bad = lint(shop({"zerodrop.streams": "sighup", **inflight}))
    assert set(bad) == {"streams"} and "write signal:NAME" in bad["streams"].message
    blind = lint(shop({"zerodrop.streams": "signal:SIGHUP"}))
    assert set(blind) == {"streams-idle"} and blind["streams-idle"].warning
    assert blind["streams-idle"].page == "docs/apply.md#long-lived-streams-optional"


def test_a_drain_file_the_healthcheck_never_looks_at_is_a_trap():
    found = lint(shop({"zerodrop.drain": "file:/run/cord"}))
    assert set(found) == {"drain-contract"} and "does not look at it" in found["drain-contract"].message


def test_an_unreadable_contract_is_a_trap_with_the_reason():
    assert (
        "is not a signal" in lint(shop({"zerodrop.drain": "signal:SIGFOO/SIGUSR2"}))["drain-contract"].message
    )


@pytest.mark.parametrize(("grace", "trap"), [("40s", False), ("30s", True), ("32s", True)])
def test_grace_covers_drain_detection_the_longest_request_and_shutdown_work(grace, trap):
    """Detection 1 x (1 s + 1 s) + throttle 0.5 s = 2.5 s; + 30 s request + 1 s work = 33.5 s."""
    found = lint(shop({"zerodrop.shutdown-work": "1s"}, stop_grace_period=grace))
    assert ("grace-drain" in found) is trap
    if trap:
        assert "= 33.5s" in found["grace-drain"].message
    assert "grace-request" not in found, "one finding for the grace, not two"


def test_an_unknown_longest_request_is_a_warning_only():
    data = shop()
    del data["services"]["api"]["labels"]["zerodrop.longest-request"]
    found = lint(data)
    assert set(found) == {"longest-request"} and found["longest-request"].warning


def test_the_keep_alive_ordering_uses_the_label_and_traefiks_static_configuration():
    assert "keepalive" in lint(shop(), TraefikStatic())  # Traefik's default 90 s idle vs 2 s
    assert "keepalive" not in lint(shop(), TraefikStatic(idle=1.0))


def test_a_traefik_yml_is_read(tmp_path):
    path = tmp_path / "traefik.yml"
    path.write_text(
        "serversTransport:\n  forwardingTimeouts:\n    idleConnTimeout: 1s\n"
        "providers:\n  providersThrottleDuration: 500ms\n  docker:\n    network: edge\n",
        encoding="utf-8",
    )
    static = from_file(path)
    assert (static.idle, static.throttle, static.network) == (1.0, 0.5, "edge")
    assert from_file(tmp_path / "traefik.yml").source == str(path)


def test_an_unreadable_traefik_yml_is_bad_input(tmp_path):
    with pytest.raises(LintInputError):
        from_file(tmp_path / "missing.yml")
    (tmp_path / "list.yml").write_text("- a\n", encoding="utf-8")
    with pytest.raises(LintInputError):
        from_file(tmp_path / "list.yml")


def test_a_service_that_does_not_say_its_keep_alive_gets_a_warning_not_a_false_trap():
    """A stranger's server is not uvicorn: its keep-alive is unknown until labelled, and `none`
    (it never closes an idle connection itself) can race with nothing."""
    labels = {"zerodrop.keepalive": ""}
    unknown = shop(labels)
    del unknown["services"]["api"]["labels"]["zerodrop.keepalive"]
    found = lint(unknown, TraefikStatic())
    assert "keepalive" not in found and found["keepalive-unknown"].warning
    assert "keepalive" not in lint(shop({"zerodrop.keepalive": "none"}), TraefikStatic())
    uvicorn = shop(command=["uvicorn", "app:app"])
    del uvicorn["services"]["api"]["labels"]["zerodrop.keepalive"]
    assert "keepalive" in lint(uvicorn, TraefikStatic()), "uvicorn's own 5 s default is known"


def test_traefik_holding_idle_connections_past_the_grace_is_a_warning():
    found = lint(shop({"zerodrop.keepalive": "none"}), TraefikStatic(idle=90.0, throttle=0.5))
    assert set(found) == {"idle-grace"} and found["idle-grace"].warning
    assert "idleConnTimeout below the grace" in found["idle-grace"].message
    assert lint(shop({"zerodrop.keepalive": "none"}), TraefikStatic(idle=5.0, throttle=0.5)) == {}


def test_nginx_without_sigquit_is_a_trap(tmp_path):
    """nginx found by its command, by its Dockerfile's CMD, or by its image."""
    by_command = shop(command=["nginx", "-g", "daemon off;"])
    assert set(lint(by_command)) == {"nginx-stop-signal"}
    assert lint(shop(command=["nginx", "-g", "daemon off;"], stop_signal="SIGQUIT")) == {}
    (tmp_path / "Dockerfile").write_text('FROM debian\nCMD ["nginx", "-g", "daemon off;"]\n')
    by_dockerfile = shop(build={"context": str(tmp_path)})
    assert set(lint(by_dockerfile)) == {"nginx-stop-signal"}
    assert "stop_signal: SIGQUIT" in lint(shop(image="nginx:1.27"))["nginx-stop-signal"].message


def test_traefiks_settings_come_from_the_service_that_runs_traefik_not_a_lookalike_image():
    """A forward-auth image has "traefik" in its name; its flags say nothing of Traefik's idle
    timeout (the false trap this replaced)."""
    data = shop()
    data["services"]["auth"] = {"image": "thomseddon/traefik-forward-auth:2", "command": []}
    data["services"]["proxy"] = {
        "image": "traefik:v3.7.15",
        "command": ["--providers.docker=true", "--serversTransport.forwardingTimeouts.idleConnTimeout=1s"],
    }
    assert lint_compose(data, Path("."), None, TOOL_RULES) == []


def test_a_missing_traefik_enable_means_what_exposed_by_default_says_for_lint_and_rollout():
    from zerodrop.adapters.traefik_routes import route_from_labels

    data = shop()
    labels = data["services"]["api"]["labels"]
    del labels["traefik.enable"]
    labels["traefik.http.routers.web.rule"] = "Host(`shop.test`)"
    hidden = {"image": "traefik:v3.7.15", "command": ["--providers.docker.exposedByDefault=false"]}
    exposed = {"image": "traefik:v3.7.15", "command": ["--providers.docker=true"]}
    data["services"]["proxy"] = hidden
    data["services"]["api"]["stop_grace_period"] = "1s"  # a trap, if lint looks at the service
    assert lint_compose(data, Path("."), None, TOOL_RULES) == [], "not routed: nothing to lint"
    with pytest.raises(RolloutInputError, match="exposedByDefault is false"):
        route_from_labels("api", "shop", labels, exposed_by_default=False)
    data["services"]["proxy"] = exposed
    assert any(f.code == "grace-drain" for f in lint_compose(data, Path("."), None, TOOL_RULES))
    assert route_from_labels("api", "shop", labels, exposed_by_default=True).routers == ("web@docker",)
