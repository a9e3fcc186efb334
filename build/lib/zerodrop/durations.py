"""Durations as compose and Go write them ('1m30s', '45s', '500ms'), in seconds."""

from __future__ import annotations

import re

from zerodrop.errors import LintInputError

DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)")


def parse_duration(value: object, default: float) -> float:
    """Seconds from a compose duration ('1m30s', '45s', '500ms') or a number."""
    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise LintInputError(f"cannot read duration {value!r}")
    return sum(float(n) * scale[u] for n, u in parts)
