"""`docker zerodrop ...`: a Docker CLI plugin shim that runs this zerodrop, installed for the user
who runs `zerodrop install-plugin` (never for root's home by accident)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

from zerodrop import __version__

PLUGIN_NAME = "docker-zerodrop"
METADATA = {
    "SchemaVersion": "0.1.0",
    "Vendor": "zerodrop",
    "Version": __version__,
    "ShortDescription": "Zero-drop rolling updates of a compose service behind Traefik",
    "URL": "https://github.com/zerodrop/zerodrop",
}


def this_command() -> list[str]:
    """How to run this zerodrop again: its console script if it is one, else this interpreter
    with `-m zerodrop`."""
    script = Path(sys.argv[0])
    if script.name == "zerodrop" and script.exists():
        return [str(script.resolve())]
    found = shutil.which("zerodrop")
    return [found] if found else [sys.executable, "-m", "zerodrop"]


def shim(command: list[str]) -> str:
    """The plugin's script: the metadata Docker asks for, else zerodrop with the arguments Docker
    passes after the plugin's own name."""
    return (
        "#!/bin/sh\n"
        "# Written by `zerodrop install-plugin`: `docker zerodrop ...` runs zerodrop.\n"
        'if [ "$1" = "docker-cli-plugin-metadata" ]; then\n'
        f"  echo {shlex.quote(json.dumps(METADATA))}\n"
        "  exit 0\n"
        "fi\n"
        '[ "$1" = "zerodrop" ] && shift\n'
        f'exec {shlex.join(command)} "$@"\n'
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
    """Write the shim as an executable `docker-zerodrop`; its path."""
    target = (directory or plugin_dir()) / PLUGIN_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(shim(command or this_command()), encoding="utf-8")
    target.chmod(0o755)
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if directory is None and uid and gid and os.geteuid() == 0:  # under sudo: the user's, not root's
        for path in (target, target.parent, target.parent.parent):
            os.chown(path, int(uid), int(gid))
    return target
