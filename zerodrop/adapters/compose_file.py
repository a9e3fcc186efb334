"""Reading a compose file the way compose does, without Docker: `${VAR:-default}` interpolation
from the environment and the file's `.env`, durations, and each service's labels, environment,
command and Dockerfile command. `lab lint` checks what this reads."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from zerodrop.errors import LintInputError


class ComposeLoader(yaml.SafeLoader):
    """YAML as compose reads it: the merge tags of override files, `!override` (this value, not
    merged) and `!reset` (no value), are read as their plain value and as nothing."""


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


ComposeLoader.add_constructor("!override", _plain)
ComposeLoader.add_constructor("!reset", lambda loader, node: None)


def load_yaml(text: str) -> Any:
    """A compose file's YAML (merge tags allowed)."""
    return yaml.load(text, Loader=ComposeLoader)


VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err} and $$ substitution."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        if op in {":-", ":?"} and not value:
            return interpolate(arg, env) if op == ":-" else ""
        if op == "-" and value is None:
            return interpolate(arg, env)
        return value or ""

    return VARIABLE.sub(substitute, text)


def load_compose(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file as data, variables interpolated (environment over the file's .env)."""
    if not path.is_file():
        raise LintInputError(f"compose file not found: {path}")
    env = {**read_env_file(path.parent / ".env"), **(os.environ if environ is None else environ)}
    try:
        data = load_yaml(interpolate(path.read_text(encoding="utf-8"), env))
    except yaml.YAMLError as error:
        raise LintInputError(f"{path}: not valid YAML ({error.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise LintInputError(f"{path}: no services")
    return data


def labels(service: dict[str, Any]) -> dict[str, str]:
    """A service's labels as a dict (list or mapping form)."""
    labels = service.get("labels") or {}
    if isinstance(labels, list):
        pairs = (str(item).partition("=") for item in labels)
        return {key: value for key, _, value in pairs}
    return {str(k): str(v) for k, v in labels.items()}


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (list or mapping form)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(str(item).split("=", 1) for item in env if "=" in str(item))
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command(service: dict[str, Any]) -> list[str]:
    """A service's command as an argument list."""
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def flag(args: list[str], name: str) -> str | None:
    """The value of --name=value or --name value in an argument list (case-insensitive name)."""
    lowered = name.lower()
    for i, arg in enumerate(args):
        key, sep, value = arg.partition("=")
        if key.lower() == lowered:
            if sep:
                return value
            return args[i + 1] if i + 1 < len(args) else ""
    return None


def number(env: dict[str, str], name: str) -> float | None:
    """A numeric value, None if absent or not a number."""
    raw = env.get(name)
    try:
        return float(raw) if raw not in {None, ""} else None
    except ValueError:
        return None


def setting(args: list[str], option: str, env: dict[str, str], variable: str) -> float | None:
    """A uvicorn setting from its command-line flag, else from the app's environment variable."""
    raw = flag(args, option)
    return float(raw) if raw else number(env, variable)


def is_traefik(service: dict[str, Any]) -> bool:
    """Whether the service runs Traefik: its flags configure the docker provider, or its image is
    Traefik's (the last part of the repository is `traefik`: `traefik:v3.7`,
    `docker.io/library/traefik`, an offline `zerodrop/traefik:3.7.15`; not `traefik-forward-auth`)."""
    if any(arg.startswith("--providers.docker") for arg in command(service)):
        return True
    repository = str(service.get("image", "")).lower().split("@", 1)[0].rsplit("/", 1)[-1]
    return repository.split(":", 1)[0] == "traefik"


def traefik_service(services: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The service that runs Traefik with the docker provider: one whose flags configure it first,
    else one whose image is Traefik's."""
    flagged = [s for s in services.values() if any(a.startswith("--providers.docker") for a in command(s))]
    return next(iter(flagged), None) or next((s for s in services.values() if is_traefik(s)), None)


def variables_in(data: object) -> set[str]:
    """The names of the `${VAR...}` references anywhere in raw (not interpolated) compose data."""
    if isinstance(data, dict):
        return set().union(*(variables_in(k) | variables_in(v) for k, v in data.items()))
    if isinstance(data, list):
        return set().union(*(variables_in(item) for item in data))
    if isinstance(data, str):
        names = {match.group(1) for match in VARIABLE.finditer(data) if match.group(1)}
        for match in VARIABLE.finditer(data):  # defaults may hold references of their own
            names |= variables_in(match.group(3) or "")
        return names
    return set()


def settable_variables(paths: tuple[Path, ...], service: str) -> tuple[set[str], set[str]]:
    """For `--set`: the variables only the service's `environment:` reads (safe to change per
    release), and those anything else in the compose files reads (labels, ports, image, Traefik:
    routing and compose itself), as read from the raw files."""
    in_environment: set[str] = set()
    elsewhere: set[str] = set()
    for path in paths:
        if not path.is_file():
            raise LintInputError(f"compose file not found: {path}")
        try:
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise LintInputError(f"{path}: not valid YAML ({error.__class__.__name__})") from None
        for name, definition in (data.get("services") or {}).items():
            if not isinstance(definition, dict):
                continue
            rest = dict(definition)
            if name == service:
                in_environment |= variables_in(rest.pop("environment", None))
            elsewhere |= variables_in(rest)
        elsewhere |= variables_in({k: v for k, v in data.items() if k != "services"})
    return in_environment - elsewhere, elsewhere


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a compose-style `.env` file, read as compose reads them: comments and
    blanks skipped, a quoted value taken between its quotes, and an unquoted value cut at an
    inline comment (` #`)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = _env_value(value.strip())
    return values


def _env_value(value: str) -> str:
    if value[:1] in {"'", '"'} and value[0] in value[1:]:
        return value[1 : value.index(value[0], 1)]
    comment = re.search(r"\s#", value)
    return (value[: comment.start()] if comment else value).strip()
