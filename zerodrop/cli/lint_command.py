"""`zerodrop lint`: the pre-flight check of real compose files, merged as compose merges them,
against Traefik's static configuration; every finding names its docs page."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from zerodrop.adapters.compose_file import labels
from zerodrop.cli.arguments import OneLineParser
from zerodrop.cli.compose_flags import add_compose_flags, merged_config
from zerodrop.cli.output import Output
from zerodrop.errors import EXIT_FAILED, EXIT_OK, LintInputError, RolloutInputError
from zerodrop.lint.contract_rules import TOOL_RULES
from zerodrop.lint.engine_rules import engine_rules
from zerodrop.lint.rules import RULES
from zerodrop.lint.run import lint_compose
from zerodrop.lint.traefik_static import from_file
from zerodrop.rollout.contract import (
    DRAIN_LABEL,
    INFLIGHT_LABEL,
    STREAMS_LABEL,
    parse_contract,
    parse_inflight,
    parse_streams,
)


def add_lint_command(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """`zerodrop lint` and its flags."""
    lint = commands.add_parser(
        "lint", help="pre-flight check of compose files for what makes a rollout drop or cut work",
        description="Check compose files, merged as compose merges them, for what makes a rollout "
        "drop requests or cut work; no Docker engine needed. Each finding names its rule's code.",
        epilog=LINT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_compose_flags(lint)
    lint.add_argument(
        "--traefik-config",
        type=Path,
        help="Traefik's static configuration (YAML), if no Traefik service in the files has it as flags",
    )
    lint.add_argument(
        "--ignore", action="append", default=[], metavar="CODE", choices=sorted(all_codes()),
        help="leave a rule out (repeat for more; a service's zerodrop.lint-ignore label does it for one)",
    )  # fmt: skip
    lint.add_argument("--json", action="store_true", help="only JSON lines on stdout, a result last")
    lint.set_defaults(run=cmd_lint)


LINT_EPILOG = """examples:
  zerodrop lint -f compose.yml -f compose.prod.yml
  zerodrop lint --ignore idle-grace --json

exit status: 0 no traps (warnings may be printed); 1 traps found; 2 files or labels that cannot
be read"""


def all_codes() -> set[str]:
    """Every rule's code."""
    return {rule.code for rule in [*RULES, *TOOL_RULES, *engine_rules()]}


def check_labels(config: dict[str, Any]) -> None:
    """LintInputError (exit 2) for the first zerodrop label that no rollout could act on: a drain
    contract, streams signal or in-flight endpoint that cannot be read."""
    readers = {DRAIN_LABEL: parse_contract, STREAMS_LABEL: parse_streams, INFLIGHT_LABEL: parse_inflight}
    for name, service in (config.get("services") or {}).items():
        for label, value in labels(service).items():
            if label in readers and value:
                try:
                    readers[label](value)
                except RolloutInputError as error:
                    raise LintInputError(f"service {name}: {error}") from None


def cmd_lint(args: argparse.Namespace) -> int:
    """0 no traps (warnings may be printed), 1 traps found, 2 files or labels that cannot be read."""
    out: Output = args.output
    static = from_file(args.traefik_config) if args.traefik_config else None
    flags, config = merged_config(args)
    check_labels(config)
    rules = [*TOOL_RULES, *engine_rules()]
    folder = flags.project_directory or flags.compose_file.parent
    findings = lint_compose(config, folder, static, rules, frozenset(args.ignore))
    for finding in findings:
        out.say(finding.line())
    traps = [f for f in findings if not f.warning]
    warnings = len(findings) - len(traps)
    summary = f"{len(traps)} trap(s)" if traps else "no traps found"
    names = ", ".join(p.name for p in flags.compose_files)
    out.say(f"lint: {names}: {summary}" + f", {warnings} warning(s)" * bool(warnings))
    code = EXIT_FAILED if traps else EXIT_OK
    return out.result(
        code, "traps" if traps else "clean", files=[str(p) for p in flags.compose_files],
        findings=[asdict(f) for f in findings],
    )  # fmt: skip
