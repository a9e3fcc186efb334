"""Rollout strategies side by side, in one run, on fresh stacks under the same load.

    .venv/bin/python bench/strategies.py        (about four minutes; leaves nothing running)

Strategies: plain `docker compose up -d` with a new version (recreate all), the manual recipe
(scale up --no-recreate, docker stop -t 30, remove, scale back) on a plain-uvicorn app, and the
rollout tool on the same app. Load: 4 long requests in flight, 50 GET/s, 10 POST/s.
"""

from __future__ import annotations

from lab.config import load_config
from lab.docker_api import connect
from lab.stack import ensure_images
from lab.workshop import BROKEN, FIXED, SCENARIOS, Outcome

STRATEGIES = (
    ("docker compose up -d (recreate all)", 1, BROKEN),
    ("manual recipe, plain uvicorn shutdown", 2, BROKEN),
    ("lab rollout, plain uvicorn shutdown", 2, FIXED),
)


def row(name: str, outcome: Outcome) -> str:
    """One table row."""
    total = len(outcome.probe.records) if outcome.probe else 0
    return (
        f"| {name} | {total} | {outcome.failed} | {outcome.outage_seconds:.1f} s | "
        f"{outcome.lost_writes} / {outcome.acked_writes} |"
    )


def main() -> None:
    """Run every strategy once and print a Markdown table."""
    client = connect()
    cfg = load_config()
    ensure_images(client, cfg)
    rows = ["| strategy | requests | failed | outage | writes lost / acknowledged |", "|---|---|---|---|---|"]
    for name, page, variant in STRATEGIES:
        outcome = SCENARIOS[page].run(client, cfg, variant)
        print(outcome.line(), flush=True)
        rows.append(row(name, outcome))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
