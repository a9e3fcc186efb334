"""Traefik's static settings as its command-line flags give them: what lets a second Traefik bind
beside a first (reusePort on every entrypoint), and the lifeCycle deadlines of its entrypoints.
Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zerodrop.durations import parse_duration

DEFAULT_GRACE = 10.0  # Traefik's own transport.lifeCycle.graceTimeOut, seconds


def flags_of(args: Sequence[str]) -> dict[str, str]:
    """Traefik's command-line flags as lower-case keys and their values (a bare flag is 'true')."""
    found: dict[str, str] = {}
    for arg in args:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            found[key.lower()] = value if "=" in arg else "true"
    return found


def reuseport_problems(flags: Mapping[str, str]) -> list[str]:
    """What keeps a second Traefik from binding beside one started with these flags: an
    entrypoint without reusePort (the API's own `traefik` entrypoint too, when the API is served)."""
    entrypoints = sorted(
        {k.split(".")[1] for k in flags if k.startswith("entrypoints.") and k.endswith(".address")}
    )
    problems = [
        f"entrypoint {name} has no reusePort (--entrypoints.{name}.reusePort=true)"
        for name in entrypoints
        if flags.get(f"entrypoints.{name}.reuseport", "false").lower() != "true"
    ]
    api_served = flags.get("api.insecure", "false").lower() == "true"
    if api_served and "traefik" not in entrypoints:
        problems.append(
            "the API is on Traefik's default entrypoint `traefik` (:8080), which has no reusePort: declare "
            "--entrypoints.traefik.address=:8080 and --entrypoints.traefik.reusePort=true"
        )
    return problems


def seconds_of(flags: Mapping[str, str], setting: str, default: float) -> float:
    """The longest of one lifeCycle setting over the entrypoints (e.g. graceTimeOut), in seconds."""
    values = [
        parse_duration(v, default) for k, v in flags.items() if k.endswith(f".transport.lifecycle.{setting}")
    ]
    return max(values) if values else default
