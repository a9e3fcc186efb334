"""`docker zerodrop ...`: a Docker CLI plugin shim that runs the exact zerodrop that wrote it,
installed for the user who runs `zerodrop install-plugin` (never for root's home by accident),
and removed by `zerodrop uninstall-plugin`."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from zerodrop import __version__
from zerodrop.errors import InputError

PLUGIN_NAME = "docker-zerodrop"
MARKER = "# Written by `zerodrop install-plugin`"
AS_PLUGIN = "ZERODROP_AS_DOCKER_PLUGIN"  # set by the shim: argv starts with docker's own flags


def metadata(command: list[str]) -> dict[str, str]:
    """What `docker-cli-plugin-metadata` answers; `docker --help` shows which zerodrop runs."""
    return {
        "SchemaVersion": "0.1.0",
        "Vendor": "zerodrop",
        "Version": __version__,
        "ShortDescription": f"Zero-drop rolling updates of a compose service behind Traefik ({command[0]})",
        "URL": "https://github.com/zerodrop/zerodrop",
    }


def this_command() -> list[str]:
    """How to run this very zerodrop again: its console script if that is what runs, else this
    interpreter with `-m zerodrop` (never whichever `zerodrop` comes first on PATH)."""
    script = Path(sys.argv[0])
    if script.name == "zerodrop" and script.exists():
        return [str(script.resolve())]
    return [sys.executable, "-m", "zerodrop"]


def shim(command: list[str]) -> str:
    """The plugin's script: the metadata Docker asks for, else zerodrop with the whole command
    line Docker hands its plugins (docker's own flags first, zerodrop/cli/docker_flags.py)."""
    return (
        "#!/bin/sh\n"
        f"{MARKER}: `docker zerodrop ...` runs {shlex.join(command)}.\n"
        'if [ "$1" = "docker-cli-plugin-metadata" ]; then\n'
        f"  echo {shlex.quote(json.dumps(metadata(command)))}\n"
        "  exit 0\n"
        "fi\n"
        f'{AS_PLUGIN}=1 exec {shlex.join(command)} "$@"\n'
    )


def plugin_dir() -> Path:
    """Where Docker looks for the user's CLI plugins: $DOCKER_CONFIG/cli-plugins, else
    ~/.docker/cli-plugins of the user who asked (SUDO_USER's home under sudo)."""
    config = os.environ.get("DOCKER_CONFIG")
    if config:
        return Path(config) / "cli-plugins"
    user = os.environ.get("SUDO_USER")
    home = Path(os.path.expanduser(f"~{user}")) if user else Path.home()
    return home / ".docker" / "cli-plugins"


def install_plugin(directory: Path | None = None, command: list[str] | None = None) -> Path:
    """Write the shim as an executable `docker-zerodrop`, running `command` (this zerodrop by
    default); its path."""
    target = (directory or plugin_dir()) / PLUGIN_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(shim(command or this_command()), encoding="utf-8")
    target.chmod(0o755)
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if directory is None and uid and gid and os.geteuid() == 0:  # under sudo: the user's, not root's
        for path in (target, target.parent, target.parent.parent):
            os.chown(path, int(uid), int(gid))
    return target


def uninstall_plugin(directory: Path | None = None) -> Path | None:
    """Remove the shim `install-plugin` wrote; its path, None if there was none. InputError (and
    nothing removed) for a `docker-zerodrop` that zerodrop did not write."""
    target = (directory or plugin_dir()) / PLUGIN_NAME
    try:
        text = target.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"cannot read {target}: {error.strerror}") from None
    if MARKER not in text:
        raise InputError(f"{target} was not written by `zerodrop install-plugin`: left as it is")
    target.unlink()
    return target
