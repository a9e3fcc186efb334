"""Settings from the environment."""

from pathlib import Path

from zerodrop_app.settings import AppSettings


def test_defaults_match_the_documented_ones(monkeypatch):
    for name in ("APP_VERSION", "SLOW_SECONDS", "DRAIN_SECONDS", "APP_REPLICA", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = AppSettings.from_env()
    assert settings.version == "v1" and settings.slow_seconds == 15 and settings.ping_seconds == 10
    assert settings.drain_seconds == 5 and settings.startup_delay == 0
    assert settings.data_dir == Path("/data") and settings.replica


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("APP_VERSION", "v2")
    monkeypatch.setenv("SLOW_SECONDS", "1.5")
    monkeypatch.setenv("APP_REPLICA", "abc")
    monkeypatch.setenv("STARTUP_DELAY", "")
    settings = AppSettings.from_env()
    assert (settings.version, settings.slow_seconds, settings.replica) == ("v2", 1.5, "abc")
    assert settings.startup_delay == 0
