"""The docs and `--help` agree: every `zerodrop COMMAND ... --flag` the docs show is a flag that
command's parser takes, and the reference page names every flag of every command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from zerodrop.cli import build_parser

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [REPO_ROOT / "README.md", *(REPO_ROOT / "docs").rglob("*.md"), REPO_ROOT / "docs" / "package.md"]
)
REFERENCE = REPO_ROOT / "docs" / "reference-zerodrop.md"
CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.S)
# A zerodrop command line inside code: `zerodrop rollout ...`, `docker zerodrop ...`, but not the
# lab's `python -m lab ...` or a path such as zerodrop/cli.
COMMAND = re.compile(r"(?<![\w/.-])(?<!-p )(?<!--project-name )zerodrop\s+([a-z][a-z-]*)((?:\\\n|[^\n|;&])*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def commands() -> dict[str, set[str]]:
    """Every zerodrop command and the flags its parser takes."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    common = {"--help", "--version"}
    return {
        name: common | {s for action in each._actions for s in action.option_strings}
        for name, each in sub.choices.items()
    }


def shown(page: Path) -> list[tuple[str, str, str]]:
    """(command, flag, the code it stood in) for every zerodrop command line in a page's code."""
    text = page.read_text(encoding="utf-8")
    found = []
    for block, inline in CODE.findall(text):
        for match in COMMAND.finditer(block or inline):
            for flag in FLAG.findall(match.group(2)):
                found.append((match.group(1), flag, match.group(0).strip()[:120]))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_zerodrop_command_line_in_the_docs_is_one_the_parser_takes(page):
    known = commands()
    wrong = [
        f"{command} {flag}: {code}"
        for command, flag, code in shown(page)
        if command in known and flag not in known[command]
    ]
    unknown = {c for c, _, _ in shown(page)} - set(known) - {"on"}  # "zerodrop on PyPI" is prose
    assert wrong == [] and unknown == set(), (wrong, unknown)


def test_the_reference_names_every_flag_of_every_command():
    text = REFERENCE.read_text(encoding="utf-8")
    named = set(FLAG.findall(text))
    missing = {
        f"{command} {flag}" for command, flags in commands().items() for flag in flags - named
        if flag.startswith("--") and flag not in ("--help", "--version")
    }  # fmt: skip
    probe_flags = {f for f in missing if f.startswith("probe ")}  # probe.md is the probe's reference
    assert missing - probe_flags == set()


def test_the_checker_finds_a_flag_the_parser_does_not_take(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Run `zerodrop probe --url http://127.0.0.1:8088 --fail-on-error` and\n"
                    "```console\n$ zerodrop rollout web --image x \\\n    --no-such-flag\n```\n")  # fmt: skip
    known = commands()
    wrong = [(c, f) for c, f, _ in shown(page) if f not in known[c]]
    assert wrong == [("probe", "--fail-on-error"), ("rollout", "--no-such-flag")]
