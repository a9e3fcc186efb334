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
from zerodrop.cli.plugin import AS_PLUGIN, install_plugin, plugin_dir, this_command, uninstall_plugin
from zerodrop.cli.probe_command import add_probe_command
from zerodrop.cli.rollout_command import add_rollout_command
from zerodrop.cli.service_commands import add_service_commands
from zerodrop.errors import EXIT_OK, ZerodropError


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
    add_service_commands(commands)
    add_lint_command(commands)
    add_probe_command(commands)
    plugin = commands.add_parser("install-plugin", help="make `docker zerodrop ...` run this zerodrop")
    plugin.set_defaults(run=cmd_install_plugin)
    unplug = commands.add_parser("uninstall-plugin", help="remove the `docker zerodrop` shim it wrote")
    unplug.set_defaults(run=cmd_uninstall_plugin)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the command, and turn a known failure into its one line and exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if os.environ.pop(AS_PLUGIN, None) == "1":  # `docker [docker's flags] zerodrop ...`
            flags = docker_flags(argv)
            os.environ.update(flags.environ)
            argv = flags.argv
    except ZerodropError as error:
        print(f"zerodrop: {error.line()}", file=sys.stderr)
        return error.exit_code
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        print("zerodrop: interrupted", file=sys.stderr)
        return 130
    except ZerodropError as error:
        print(f"zerodrop: {error.line()}", file=sys.stderr)
        status: int = error.exit_code
        return status
