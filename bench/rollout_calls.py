"""Where a rollout's own time goes: one --max-surge N rollout of a fresh stack under load, with
every call it makes timed (Docker's and Traefik's APIs, and the docker CLI), on the thread that
made it.

    make bench-rollout-calls                          (1,000 GET/s + 100 POST/s, 1 s healthcheck)
    .venv/bin/python bench/rollout_calls.py --load 20 --interval 10s

Prints one line per call (start and end in seconds after the rollout began, duration, thread,
what) beside the rollout's own phase lines, then the totals per kind of call. Inspections and
listings are left out of the lines unless --all (they are many and fast) but counted in the totals.
An API call is timed until its answer begins: an in-container request (`exec` start) streams its
output after that, so its length shows as the gap to the retirement's next call, not in the call.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from unittest.mock import patch

import requests

from lab.compose_lab import ensure_images, private_project
from lab.config import load_config
from lab.lab_app import lab_platform
from lab.under_load import default_probe_options, measure_under_load
from zerodrop.adapters import compose, docker_cli, docker_platform
from zerodrop.adapters.docker_sdk import connect
from zerodrop.adapters.traefik_api import routed_ips
from zerodrop.model import Release
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.plan import RolloutOptions

QUIET = ("/json", "containers/json?", "GET routed")  # inspections, listings, Traefik: counted, not printed


@dataclass(frozen=True)
class Call:
    """One timed call."""

    start: float
    end: float
    thread: str
    kind: str
    what: str


@contextmanager
def timed_calls(calls: list[Call]) -> Iterator[None]:
    """Record every request the docker SDK sends, every look at Traefik's API and every docker CLI
    run (compose) while inside."""
    send, run = requests.Session.send, docker_cli.run_docker

    def timed_send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        started = time.time()
        try:
            return send(session, request, **kwargs)
        finally:
            path = (request.url or "").split("/", 3)[-1]
            calls.append(Call(started, time.time(), threading.current_thread().name, "api",
                              f"{request.method} {path[:100]}"))  # fmt: skip

    def timed_run(*args: str, **kwargs: Any) -> str:
        started = time.time()
        try:
            return run(*args, **kwargs)
        finally:
            calls.append(
                Call(started, time.time(), threading.current_thread().name, "cli", " ".join(args)[-100:])
            )

    def timed_routed_ips(api_url: str, service: str, timeout: float = 3.0) -> set[str]:
        started = time.time()
        try:
            return routed_ips(api_url, service, timeout)
        finally:
            calls.append(Call(started, time.time(), threading.current_thread().name, "traefik", "GET routed"))

    with (
        patch.object(requests.Session, "send", timed_send),
        patch.object(compose, "run_docker", timed_run),
        patch.object(docker_platform, "routed_ips", timed_routed_ips),
    ):
        yield


def kind_of(call: Call) -> str:
    """What kind of call: 'POST containers/<id>/exec' for an API call (ids and query left out)."""
    if call.kind == "cli":
        return "docker CLI (compose)"
    if call.kind == "traefik":
        return "Traefik API: the service's servers"
    method, _, path = call.what.partition(" ")
    path = re.sub(r"[0-9a-f]{64}", "<id>", path.split("?")[0])
    return f"{method} {path.split('/', 1)[-1]}"


def main() -> None:
    """Run one rollout under load and print its calls."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--load", type=float, default=1000.0, help="short GET/s (default 1000; POST/s is a tenth)"
    )
    parser.add_argument("--interval", default="1s", help="the healthcheck interval (default 1s)")
    parser.add_argument("--all", action="store_true", help="print inspections and listings too")
    args = parser.parse_args()
    client, base = connect(), load_config()
    ensure_images(client, base)
    calls: list[Call] = []
    lines: list[Call] = []
    began: list[float] = []
    with private_project(client, base, "zdcalls", {"APP_HEALTH_INTERVAL": args.interval}) as cfg:
        options = replace(default_probe_options(cfg, duration=600.0), short_rate=args.load,
                          write_rate=args.load / 10)  # fmt: skip
        rollout = RolloutOptions(Release("v2"), max_surge=cfg.replicas, build=False)

        def note(line: str) -> None:
            lines.append(Call(time.time(), time.time(), "rollout", "log", line.strip()[:110]))

        def action() -> float:
            with timed_calls(calls):
                began.append(time.time())
                execute_rollout(lab_platform(client, cfg), cfg, rollout, None, note)
                return time.time() - began[0]

        measured = measure_under_load(action, options, out=lambda _: None)
    t0 = began[0]
    print(f"rollout {measured.value:.2f}s under {args.load:g} GET/s, healthcheck {args.interval}; "
          f"{len(measured.probe.failures)} of {len(measured.probe.records)} requests failed")  # fmt: skip
    totals: dict[str, list[float]] = defaultdict(list)
    for call in sorted([*calls, *lines], key=lambda c: c.start):
        if call.kind != "log":
            totals[kind_of(call)].append(call.end - call.start)
        if call.kind == "log" or args.all or not any(q in call.what for q in QUIET):
            print(f"{call.start - t0:6.2f} {call.end - t0:6.2f} {call.end - call.start:5.2f} "
                  f"{call.thread[:24]:<24} {call.kind} {call.what}")  # fmt: skip
    print("per kind of call: count, total seconds, longest")
    for what, spans in sorted(totals.items(), key=lambda item: -sum(item[1])):
        print(f"  {what[:40]:<40} {len(spans):4d} {sum(spans):7.2f} {max(spans):6.2f}")


if __name__ == "__main__":
    main()
