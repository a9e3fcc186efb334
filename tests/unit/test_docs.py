"""Docs that cannot drift: make targets, test names, relative links and the commit behind every
measured table, in README.md and docs/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lab.config import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
COMMIT = re.compile(r"\b[0-9a-f]{7,40}\b")
# A measured table: its header names what a run counted.
MEASURED = re.compile(r"^\|.*\b(failed|lost)\b.*\|$", re.IGNORECASE)
# `make X` in backticks, or a console line `$ make X`: prose ("make the ...") is not a target.
MAKE_NAMED = re.compile(r"(?:`|^\$ )make ([a-z][a-z0-9-]*)", re.MULTILINE)


def make_targets() -> tuple[set[str], list[str]]:
    """The Makefile's explicit targets, and its pattern rules' prefixes (workshop-%: workshop-)."""
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    names = re.findall(r"^([A-Za-z0-9_%.-]+):", text, re.MULTILINE)
    return {n for n in names if "%" not in n}, [n.split("%")[0] for n in names if "%" in n]


def doc_id(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_make_target_named_exists(doc):
    explicit, patterns = make_targets()
    named = set(MAKE_NAMED.findall(doc.read_text(encoding="utf-8")))
    missing = [n for n in named if n not in explicit and not any(n.startswith(p) for p in patterns)]
    assert missing == []


def test_every_test_name_quoted_exists():
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "tests").rglob("*.py"))
    defined = set(re.findall(r"def (test_[a-z0-9_]+)", sources))
    files = {p.name for p in (REPO_ROOT / "tests").rglob("test_*.py")}
    for doc in DOCS:
        for name in re.findall(r"\b(test_[a-z0-9_]+)(\.py)?\b", doc.read_text(encoding="utf-8")):
            if name[0].endswith("_"):  # a prefix (test_1_*), not a name
                continue
            assert (name[0] + ".py" in files) if name[1] else (name[0] in defined), (doc_id(doc), name[0])


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_relative_link_resolves(doc):
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_measured_table_carries_its_commit(doc):
    """A table of measured figures names, in the text of its section before it or in its own
    rows, the commit it was measured at."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    section_start = 0
    unstamped = []
    for i, line in enumerate(lines):
        if line.startswith("#"):
            section_start = i
        if MEASURED.match(line) and (i == 0 or not lines[i - 1].startswith("|")):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("|")), len(lines))
            context = "\n".join(lines[section_start:end])
            if not COMMIT.search(re.sub(r"`[^`]*`", "", context)):
                unstamped.append(f"line {i + 1}: {line[:60]}")
    assert unstamped == []


def test_the_docs_are_tracked():
    tracked = subprocess.run(["git", "ls-files", "docs", "README.md"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()  # fmt: skip
    assert "README.md" in tracked and any(t.startswith("docs/") for t in tracked)


def test_every_numbered_workshop_page_has_a_verification_section_naming_a_test():
    """Pages of one shape: each numbered page (not the set-up) says which test keeps it true."""
    pages = sorted((REPO_ROOT / "docs" / "workshop").glob("[0-9][0-9]-*.md"))
    missing = []
    for page in pages:
        if page.name.startswith("00-"):
            continue
        text = page.read_text(encoding="utf-8")
        section = (
            text.split("## Verification", 1)[1].split("\n## ", 1)[0] if "## Verification" in text else ""
        )
        if not re.search(r"\btest_[a-z0-9_]+", section):
            missing.append(page.name)
    assert len(pages) >= 11 and missing == []
