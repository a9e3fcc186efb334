"""The `zerodrop` command: a thin layer over the tool's functions. Every known failure is one
line and the exit status its class in zerodrop/errors.py names."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence

from zerodrop import __version__
from zerodrop.cli.arguments import OneLineParser
from zerodrop.cli.docker_flags import docker_flags
from zerodrop.cli.lint_command import add_lint_command
from zerodrop.cli.output import Output
from zerodrop.cli.plugin import AS_PLUGIN, install_plugin, plugin_dir, this_command, uninstall_plugin
from zerodrop.cli.probe_command import add_probe_command
from zerodrop.cli.proxy_command import add_proxy_command
from zerodrop.cli.rollout_command import add_rollout_command
from zerodrop.cli.service_commands import add_service_commands
from zerodrop.cli.up_command import add_up_command
from zerodrop.errors import EXIT_BAD_INPUT, EXIT_OK, UsageExit, ZerodropError


def cmd_install_plugin(_: argparse.Namespace) -> int:
    """Make `docker zerodrop ...` run this zerodrop."""
    command = this_command()
    written = install_plugin(command=command)
    print(f"zerodrop: wrote {written}: `docker zerodrop ...` now runs {shlex.join(command)}")
    return EXIT_OK


def cmd_uninstall_plugin(_: argparse.Namespace) -> int:
    """Remove the `docker zerodrop` shim."""
    removed = uninstall_plugin()
    print(f"zerodrop: removed {removed}" if removed else f"zerodrop: no shim in {plugin_dir()}: none removed")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The parser of `zerodrop`."""
    parser = OneLineParser(prog="zerodrop", description=__doc__)
    parser.add_argument("--version", action="version", version=f"zerodrop {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    add_rollout_command(commands)
    add_up_command(commands)
    add_proxy_command(commands)
    add_service_commands(commands)
    add_lint_command(commands)
    add_probe_command(commands)
    plugin = commands.add_parser("install-plugin", help="make `docker zerodrop ...` run this zerodrop")
    plugin.set_defaults(run=cmd_install_plugin)
    unplug = commands.add_parser("uninstall-plugin", help="remove the `docker zerodrop` shim it wrote")
    unplug.set_defaults(run=cmd_uninstall_plugin)
    return parser


def _plugin_argv(argv: list[str]) -> list[str]:
    """The arguments for zerodrop: as given, or (run as `docker [flags] zerodrop ...`) those after
    docker's own flags, which become the environment docker would set."""
    if os.environ.pop(AS_PLUGIN, None) != "1":
        return argv
    flags = docker_flags(argv)
    os.environ.update(flags.environ)
    return flags.argv


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the command, and turn a known failure into its one line and exit status (with
    --json, also an error object and the result: zerodrop/cli/output.py)."""
    given = list(sys.argv[1:] if argv is None else argv)
    out = Output(json="--json" in given, context={"command": None, "service": None})
    try:
        args = build_parser().parse_args(_plugin_argv(given))
    except UsageExit as usage:  # already printed as its line
        out.emit("error", kind="UsageError", message=usage.line, exit_code=EXIT_BAD_INPUT)
        out.result(EXIT_BAD_INPUT)
        raise
    except ZerodropError as error:
        out.error(f"zerodrop: {error.line()}", type(error).__name__, error.exit_code)
        return out.result(error.exit_code)
    context = {"command": args.command, "service": getattr(args, "service", None)}
    if args.command in ("rollout", "rollback"):  # known as the command learns them; null until then
        context |= {"project": None, "from": None, "to": None, "seconds": None, "cut": []}
    out = args.output = Output(json=bool(getattr(args, "json", False)), context=context)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return out.result(run(args))
    except KeyboardInterrupt:
        out.error("zerodrop: interrupted", "KeyboardInterrupt", 130)
        return out.result(130)
    except ZerodropError as error:
        out.error(f"zerodrop: {error.line()}", type(error).__name__, error.exit_code)
        return out.result(error.exit_code)
