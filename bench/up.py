"""The whole-project example (examples/whole-project) with every image changed, v1 -> v2, under
two probes at once (one through Traefik to web, one to api), one fresh project per strategy, side
by side in one run:

- `zerodrop up --recreate-unrollable`: api then web rolled (web depends on api), the worker and
  the db recreated by compose (the db's outage accepted: it is not routed);
- `docker compose up -d`: what compose does with the same change, every service recreated.

    make bench-up                     (about 3 minutes)
    .venv/bin/python bench/up.py --smoke     (compose's row only, the lab's smoke test)

Prints a table (per routed service: requests and failed, by kind; the command's seconds and exit)
and writes out/bench/up.{md,json}.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.bench_output import markdown_table, write_results
from lab.config import load_config
from lab.example_shop import build_images, compose_env
from lab.example_whole import WHOLE, WholeProject, images_at, running_whole_project
from lab.under_load import SETTLE_SHORT_REQUESTS, UnderLoad, measure_under_load
from zerodrop.adapters.docker_sdk import connect

ZERODROP_UP = "zerodrop up --recreate-unrollable"
COMPOSE_UP = "docker compose up -d"
HEADER = (
    "strategy",
    "web: failed / requests",
    "api: failed / requests",
    "failures by kind",
    "seconds",
    "exit",
)


@dataclass
class Row:
    """One strategy's run: each routed service's load, and the command's outcome."""

    strategy: str
    requests: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    exit_code: int | None = None

    def cells(self) -> list[str]:
        """The row as Markdown cells."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items())) or "none"
        per = [f"{self.failed.get(s, 0)} / {self.requests.get(s, 0)}" for s in ("web", "api")]
        return [self.strategy, *per, kinds, f"{self.seconds:.1f}", str(self.exit_code)]


Action = Callable[[WholeProject], subprocess.CompletedProcess[str]]


def actions() -> dict[str, Action]:
    """Each strategy as a function of the running project (every image at v2)."""
    v2 = images_at("v2")

    def compose_up(project: WholeProject) -> subprocess.CompletedProcess[str]:
        argv = ["docker", "compose", *project.flags(), "up", "-d"]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=600, cwd=WHOLE, env=compose_env(**v2), check=False
        )

    return {
        ZERODROP_UP: lambda project: project.zerodrop_up("--recreate-unrollable", env=v2),
        COMPOSE_UP: compose_up,
    }


def run_one(name: str, action: Action, settle: int = SETTLE_SHORT_REQUESTS) -> Row:
    """A fresh project at v1, the strategy under a probe on web and one on api (each waiting for
    `settle` short answers before and after), torn down."""
    timed: list[float] = []
    with (
        tempfile.TemporaryDirectory() as directory,
        running_whole_project(connect(), Path(directory)) as project,
    ):

        def act() -> subprocess.CompletedProcess[str]:
            timed.append(time.monotonic())
            done = action(project)
            timed.append(time.monotonic())
            return done

        def on_api() -> UnderLoad[subprocess.CompletedProcess[str]]:
            return measure_under_load(act, project.probe_options("api"), settle=settle, out=lambda _: None)

        web = measure_under_load(on_api, project.probe_options("web"), settle=settle, out=lambda _: None)
    api = web.value
    row = Row(name)
    for service, measured in (("web", web), ("api", api)):
        if measured is None:
            continue
        row.requests[service] = len(measured.probe.records)
        row.failed[service] = len(measured.probe.failures)
        for kind, count in measured.probe.failure_kinds().items():
            row.kinds[kind] = row.kinds.get(kind, 0) + count
    done = api.value if api is not None else None
    row.exit_code = done.returncode if done is not None else None
    row.seconds = timed[1] - timed[0] if len(timed) == 2 else 0.0
    return row


def table(rows: list[Row]) -> str:
    """The Markdown table."""
    return markdown_table(HEADER, [r.cells() for r in rows])


def main() -> None:
    """Run both strategies (or the smoke's compose row), print the table, write it and the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="compose's row only")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default out/bench)")
    args = parser.parse_args()
    out_dir = args.out or load_config().out_dir / "bench"
    build_images()
    rows = [run_one(name, act) for name, act in actions().items() if not args.smoke or name == COMPOSE_UP]
    write_results(out_dir, "up", table(rows), [asdict(r) for r in rows])
    print(table(rows))


if __name__ == "__main__":
    main()
