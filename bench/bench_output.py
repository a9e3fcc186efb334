"""What the benches share at their end: a Markdown table of their rows, and the table and the
rows' JSON written beside each other in the bench's output folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of the rows' cells under the header."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in rows])


def write_results(out_dir: Path, name: str, table: str, rows: list[dict[str, Any]]) -> None:
    """NAME.md (the table) and NAME.json (the rows) in `out_dir`, created if missing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    (out_dir / f"{name}.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
