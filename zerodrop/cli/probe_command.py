"""`zerodrop probe`: load through Traefik's port on 127.0.0.1 for any service, with a live tally,
a summary and, on request, a JSON report."""

from __future__ import annotations

import argparse

from zerodrop.cli.arguments import (
    OneLineParser,
    add_run_length_options,
    add_stream_options,
    count,
    finite_rate,
    long_seconds,
    stream_options,
    writable_file,
)
from zerodrop.errors import EXIT_FAILED, EXIT_OK, ProbeInputError
from zerodrop.measure.probe import probe_until_signal
from zerodrop.measure.probe_data import MAX_DURATION, ProbeOptions
from zerodrop.measure.report import summarize


def add_probe_command(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    """The probe's options, with the paths of any service."""
    probe = commands.add_parser("probe", help="load through Traefik on 127.0.0.1: tally, summary, report")
    probe.add_argument("--url", required=True, help="Traefik's entrypoint, http://127.0.0.1:PORT")
    probe.add_argument("--host", required=True, help="the Host header the service's router matches")
    probe.add_argument("--long-path", default="/", help="a slow GET kept in flight (default /)")
    probe.add_argument("--short-path", default="/", help="a fast GET sent at --short-rate (default /)")
    probe.add_argument("--write-path", help="a POST sent at --write-rate (default: no writes)")
    probe.add_argument("--long", type=count, default=0, help="slow GETs kept in flight (default 0)")
    probe.add_argument("--short-rate", type=finite_rate, default=20.0, help="fast GETs a second (default 20)")
    probe.add_argument("--write-rate", type=finite_rate, default=10.0, help="POSTs a second (default 10)")
    probe.add_argument("--long-seconds", type=long_seconds, help="sent as ?seconds= on the slow GET")
    probe.add_argument("--lab-app", action="store_true", help="check the lab app's bodies too")
    add_stream_options(probe, paths=True)
    add_run_length_options(probe)
    probe.add_argument(
        "--plot",
        type=writable_file,
        help="draw the timeline PNG (needs the plot extra: pipx install 'zerodrop-rollout[plot]')",
    )
    probe.set_defaults(run=cmd_probe)


def _needs_matplotlib() -> None:
    """ProbeInputError (before any load) when the plot extra is not installed."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise ProbeInputError(
            "--plot needs matplotlib: pipx inject zerodrop-rollout matplotlib (the plot extra)"
        )


def cmd_probe(args: argparse.Namespace) -> int:
    """Probe; exit 1 if any request failed or any stream dropped, 0 if none did."""
    if args.plot:
        _needs_matplotlib()
    options = ProbeOptions(
        base_url=args.url.rstrip("/"),
        host=args.host,
        long_concurrency=args.long,
        short_rate=args.short_rate,
        write_rate=args.write_rate,
        duration=MAX_DURATION if args.until_signal else args.duration,
        long_seconds=args.long_seconds,
        long_path=args.long_path,
        short_path=args.short_path,
        write_path=args.write_path,
        app_checks=args.lab_app,
        **stream_options(args),
    )
    result = probe_until_signal(options, lambda line: print(line, flush=True))
    print(summarize(result))
    if args.report:
        print(f"probe: report {result.write(args.report)}")
    if args.plot:
        from zerodrop.measure.timeline import plot_timeline

        title = f"{args.host}: {len(result.failures)} failed"
        print(f"probe: timeline {plot_timeline(result, [], args.plot, title=title)}")
    streams = result.streams_report()
    return EXIT_FAILED if result.failures or (streams and streams.drops) else EXIT_OK
