"""Running the rules (zerodrop.lint.rules, and the tool's contract rules) over every service
Traefik routes that declares its route, with Traefik's own settings read once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zerodrop.adapters.compose_file import command, environment, is_traefik, labels, load_compose
from zerodrop.adapters.traefik_routes import routed_by_traefik
from zerodrop.lint.rules import RULES, Finding, Rule
from zerodrop.lint.service import Service
from zerodrop.lint.traefik_static import TraefikStatic, static_of


def _linted(service_labels: dict[str, str], static: TraefikStatic) -> bool:
    """A service Traefik routes (traefik.enable, else exposedByDefault) that says so: enabled
    outright or with a router of its own (Traefik's default rule for every other container is
    not a route anyone relies on)."""
    declared = "traefik.enable" in service_labels or any(
        k.startswith("traefik.http.routers.") for k in service_labels
    )
    return declared and routed_by_traefik(service_labels, static.exposed_by_default)


IGNORE_LABEL = "zerodrop.lint-ignore"  # rule codes, comma-separated, a service's lint leaves out


def ignored_codes(service_labels: Mapping[str, str]) -> set[str]:
    """The rule codes a service's zerodrop.lint-ignore label names."""
    return {code.strip() for code in service_labels.get(IGNORE_LABEL, "").split(",") if code.strip()}


def lint_compose(
    data: dict[str, Any],
    compose_dir: Path,
    static: TraefikStatic | None = None,
    rules: list[Rule] = RULES,
    ignore: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Every trap found in the compose data, rule by rule for each routed service, but the rules
    `ignore` names and those a service's zerodrop.lint-ignore label names. Traefik's settings
    come from `static`, else from the flags of a Traefik service in the data."""
    services: dict[str, dict[str, Any]] = data["services"]
    static = static or static_of(services)
    findings: list[Finding] = []
    for name, data_of in services.items():
        service_labels = labels(data_of)
        if is_traefik(data_of) or not _linted(service_labels, static):
            continue
        service = Service(
            name, data_of, service_labels, environment(data_of), command(data_of),
            static.idle, static.network, compose_dir, static.throttle,
        )  # fmt: skip
        skipped = ignore | ignored_codes(service_labels)
        for each in rules:
            if each.code in skipped:
                continue
            message = each.check(service)
            if message:
                findings.append(Finding(each.code, name, message, each.page, each.warning))
    return findings


def lint_file(
    path: Path, environ: Mapping[str, str] | None = None, rules: list[Rule] = RULES
) -> list[Finding]:
    """Findings for a compose file."""
    return lint_compose(load_compose(path, environ), path.parent, rules=rules)
