"""`zerodrop lint`'s rules for any service (drain contract, grace against drain detection, longest
request and shutdown work) and Traefik's static configuration read from a traefik.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zerodrop.errors import LintInputError
from zerodrop.lint.contract_rules import TOOL_RULES
from zerodrop.lint.rules import Finding, lint_compose
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
