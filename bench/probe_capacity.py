"""How much load the probe itself sustains through Traefik on this machine, and at what CPU cost.

Runs the probe against the running lab (`make lab-up` first) at increasing rates, one after the
other in one run, and prints, per rate: requests sent and answered, achieved rates, how often the
probe fell behind its schedule, failures, short-request latency, and the probe's own CPU use.

    .venv/bin/python bench/probe_capacity.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import time

from lab.config import load_config
from lab.probe_thread import ProbeThread
from zerodrop.measure.probe_data import ProbeOptions
from zerodrop.measure.records import SHORT, WRITE
from zerodrop.measure.report import latency_line

# (GET/s, POST/s, a new connection per request?): keep-alive up to past the 1,000 GET/s target,
# then the per-request-connection mode, which costs Traefik and the probe an accept each.
RATES = (
    (100, 25, False),
    (500, 100, False),
    (1000, 100, False),
    (1500, 100, False),
    (2000, 100, False),
    (300, 100, True),
    (600, 100, True),
)


def main() -> None:
    """Measure each rate in turn and print one row per rate."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per rate (default 20)")
    args = parser.parse_args()
    cfg = load_config()
    per_rate = f"{args.seconds:.0f}s per rate"
    print(f"probe capacity through Traefik at {cfg.http_url}, 4 long requests in flight, {per_rate}")
    print(
        f"{'connections':>11} {'target GET/s':>12} {'POST/s':>7} {'GET/s done':>10} {'POST/s done':>11} "
        f"{'behind':>6} "
        f"{'failed':>6} {'probe CPU':>9}  short latency"
    )
    for short_rate, write_rate, new_connections in RATES:
        options = ProbeOptions(
            base_url=cfg.http_url,
            host=cfg.app_host,
            long_concurrency=4,
            short_rate=short_rate,
            write_rate=write_rate,
            duration=args.seconds,
            long_seconds=1.0,
            new_connections=new_connections,
        )
        cpu0, wall0 = time.process_time(), time.monotonic()
        result = ProbeThread(options, out=lambda _: None).start().wait(args.seconds + 60)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        shorts = [r for r in result.records if r.kind == SHORT]
        writes = [r for r in result.records if r.kind == WRITE]
        print(
            f"{'per request' if new_connections else 'keep-alive':>11} {short_rate:>12} {write_rate:>7} "
            f"{len(shorts) / args.seconds:>10.1f} "
            f"{len(writes) / args.seconds:>11.1f} "
            f"{result.behind:>6} {len(result.failures):>6} {100 * cpu / wall:>8.0f}%  {latency_line(shorts)}"
        )


if __name__ == "__main__":
    main()
