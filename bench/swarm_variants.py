"""Swarm's own rolling update under the probe, variants side by side in one run.

    make bench-swarm        (about 5 minutes; switches swarm mode on if it is off, and off again)

Each variant rolls a fresh 2-replica v1 stack (docker-stack.yml) to v2 with Swarm's start-first
update under the probe (4 long 15 s requests, 20 GET/s, 10 POST/s through Traefik's port on
127.0.0.1):
- broken: Traefik's default 15 s poll, the app drains only on SIGTERM (no lame duck);
- fixed: 15 s poll, a lame duck of poll + throttle + a healthcheck round (19 s);
- fast poll: refreshSeconds 2, the same rule (6 s).
Then a v3 that never gets healthy, which Swarm's failure_action must roll back.
Output in out/bench/: swarm.md (the table), swarm.json (every figure) and a timeline PNG per run
(swarm-<variant>.png: every request, coloured by the version that answered, failures in red).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.compose_lab import ensure_images
from lab.config import load_config
from lab.swarm.config import load_swarm_config
from lab.swarm.measure import VARIANTS, SwarmMeasurement, measure_rollback, measure_variant
from lab.swarm.stack import ensure_swarm, leave_swarm_if_ours
from zerodrop.adapters.docker_sdk import connect
from zerodrop.measure.timeline import plot_timeline


def table(rows: list[SwarmMeasurement]) -> str:
    """The Markdown table of a run."""
    lines = [
        "| variant | refreshSeconds | lame duck | failed / total | failures by kind | outage "
        "| update done | old tasks gone, routes settled | ended |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        kinds = ", ".join(f"{k} {n}" for k, n in row.failure_kinds().items()) or "-"
        update = row.update
        done = f"{update.update_seconds:.1f} s" if update else "-"
        settled = f"{update.settled_seconds:.1f} s" if update else "-"
        ended = f"{update.state}, serving {update.final_version}" if update else f"error: {row.error}"
        lines.append(
            f"| {row.label} | {row.cfg.refresh_seconds} s | {row.cfg.drain_seconds:g} s "
            f"| {row.failed} / {row.total} | {kinds} | {row.outage_seconds:.1f} s | {done} | {settled} "
            f"| {ended} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run every variant and the rollback, print and write the table and the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default out/bench)")
    args = parser.parse_args()
    client = connect()
    base = load_swarm_config()
    out = args.out or base.out_dir / "bench"
    ensure_images(client, load_config(), ("v1", "v2", "v3"))
    ensure_swarm(client, base)
    rows: list[SwarmMeasurement] = []
    try:
        for variant in VARIANTS:
            print(f"bench-swarm: {variant.name}: {variant.what}", flush=True)
            rows.append(measure_variant(client, base, variant, out=lambda _: None))
            print("\n".join(rows[-1].lines()), flush=True)
        print("bench-swarm: never-healthy v3, rolled back by failure_action", flush=True)
        rows.append(measure_rollback(client, base, out=lambda _: None))
        print("\n".join(rows[-1].lines()), flush=True)
    finally:
        if leave_swarm_if_ours(client, base):
            print("bench-swarm: swarm mode switched off again", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "swarm.md").write_text(table(rows), encoding="utf-8")
    (out / "swarm.json").write_text(json.dumps([r.to_json() for r in rows], indent=2), encoding="utf-8")
    for row in rows:
        name = row.label.split()[0]
        title = (
            f"Swarm {row.label}: refreshSeconds {row.cfg.refresh_seconds}, lame duck "
            f"{row.cfg.drain_seconds:g} s; failed {row.failed}/{row.total}"
        )
        spans = row.update.spans() if row.update else []
        plot_timeline(row.probe, [], out / f"swarm-{name}.png", title=title, spans=spans)
    print()
    print(table(rows))
    print(f"bench-swarm: wrote {out / 'swarm.md'} and {out / 'swarm.json'}")


if __name__ == "__main__":
    main()
