"""The example shop (examples/own-service) taken from v1 to v2 under the same load, one fresh
project per strategy, side by side in one run:

- `zerodrop rollout`: the drain file, confirmed out in Traefik's API, one replica at a time;
- docker-rollout with its documented drain-file recipe (`--pre-stop-hook "touch /tmp/drain &&
  sleep N"`, N = interval x retries + the longest request, as its docs ask), if DOCKER_ROLLOUT
  names its script (not shipped here: fetch it yourself);
- `docker compose up -d` with the new image: what happens without a rollout tool.

    make bench-own-service                      (6 long /slow 10 s, 40 GET/s, 20 POST/s)
    DOCKER_ROLLOUT=/path/to/docker-rollout make bench-own-service

Prints a table (requests, failed, failures by kind, seconds, time against zerodrop's floor on the
same stack) and writes out/bench-own-service/own-service.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.config import REPO_ROOT
from lab.example_shop import EXAMPLE, IMAGE, Shop, build_images, compose_env, running_shop
from lab.under_load import measure_under_load
from zerodrop.adapters.docker_sdk import connect

ZERODROP = "zerodrop rollout"
DOCKER_ROLLOUT = "docker-rollout, drain-file recipe"
COMPOSE_UP = "docker compose up -d"
# docker-rollout's docs: sleep > healthcheck interval x retries + time to finish open requests.
RECIPE_SLEEP = 1 * 1 + 10  # the shop's 1 s x 1 retry, and the probe's 10 s requests


@dataclass
class Row:
    """One strategy's run: the load's outcome and the action's."""

    strategy: str
    requests: int = 0
    failed: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    exit_code: int | None = None
    floor: float | None = None  # zerodrop's, from its summary
    note: str = ""

    def cells(self, floor: float | None) -> list[str]:
        """The row as table cells, time against `floor` (zerodrop's on the same stack)."""
        ratio = f"{self.seconds / floor:.2f}x" if floor and self.seconds else "-"
        kinds = ", ".join(f"{k} {n}" for k, n in self.kinds.items()) or "none"
        return [self.strategy, str(self.requests), str(self.failed), kinds, f"{self.seconds:.1f}", ratio,
                str(self.exit_code), self.note]  # fmt: skip


Action = Callable[[Shop], subprocess.CompletedProcess[str]]


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=600, env=env, cwd=EXAMPLE, check=False
    )


def actions(script: str | None) -> dict[str, Action]:
    """Each strategy as a function of the running shop (docker-rollout only with its script)."""
    new = compose_env(SHOP_IMAGE=f"{IMAGE}:v2")
    found: dict[str, Action] = {
        ZERODROP: lambda shop: shop.zerodrop("--image", f"{IMAGE}:v2"),
        COMPOSE_UP: lambda shop: _run(["docker", "compose", *shop.flags(), "up", "-d", "api"], new),
    }
    if script:
        hook = f"touch /tmp/drain && sleep {RECIPE_SLEEP}"
        found[DOCKER_ROLLOUT] = lambda shop: _run(
            ["sh", script, "rollout", *shop.flags(), "--pre-stop-hook", hook, "api"], new
        )
    return found


def run_one(
    name: str, action: Callable[[Shop], subprocess.CompletedProcess[str]], load: dict[str, float]
) -> Row:
    """One fresh shop at v1, the strategy under the probe, torn down."""
    with (
        tempfile.TemporaryDirectory() as directory,
        running_shop(connect(), Path(directory)) as shop,
    ):
        options = shop.probe_options(
            long=int(load["long"]), short_rate=load["short"], write_rate=load["write"]
        )
        began: list[float] = []

        def timed() -> subprocess.CompletedProcess[str]:
            began.append(time.monotonic())
            done = action(shop)
            began.append(time.monotonic())
            return done

        measured = measure_under_load(timed, options, out=lambda _: None)
    done = measured.value
    row = Row(name, len(measured.probe.records), len(measured.probe.failures), measured.probe.failure_kinds())
    row.seconds = began[1] - began[0] if len(began) == 2 else 0.0
    row.exit_code = done.returncode if done is not None else None
    floor = re.search(r"floor (\d+(?:\.\d+)?)s", done.stdout) if done is not None else None
    row.floor = float(floor.group(1)) if floor else None
    return row


def main(argv: list[str] | None = None) -> int:
    """Run every strategy (or `--only` some), print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=[ZERODROP, DOCKER_ROLLOUT, COMPOSE_UP])
    parser.add_argument("--long", type=int, default=6)
    parser.add_argument("--short-rate", type=float, default=40.0)
    parser.add_argument("--write-rate", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "bench-own-service")
    args = parser.parse_args(argv)
    script = os.environ.get("DOCKER_ROLLOUT")
    if script is None:
        print(f"bench: DOCKER_ROLLOUT is not set: the {DOCKER_ROLLOUT!r} row is left out")
    build_images()
    load = {"long": args.long, "short": args.short_rate, "write": args.write_rate}
    rows = [
        run_one(name, act, load)
        for name, act in actions(script).items()
        if not args.only or name in args.only
    ]
    floor = next((r.floor for r in rows if r.floor), None)
    print(table(rows, floor, load))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "own-service.json"
    path.write_text(json.dumps({"load": load, "floor": floor, "rows": [asdict(r) for r in rows]}, indent=2))
    print(f"bench: {path}")
    return 0


def table(rows: list[Row], floor: float | None, load: dict[str, float]) -> str:
    """A markdown table of the rows."""
    head = ["strategy", "requests", "failed", "failures by kind", "seconds", "vs floor", "exit", "note"]
    lines = [
        f"load: {load['long']:g} long (10 s), {load['short']:g} GET/s, {load['write']:g} POST/s; "
        f"floor {floor or 0:.1f}s (zerodrop's, same stack)",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    lines += ["| " + " | ".join(row.cells(floor)) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
