"""docker's own global flags on `docker [FLAGS] zerodrop ...`. The docker CLI hands a plugin its
whole command line (`--context X zerodrop rollout web`), and expects the plugin to honour the
flags before its name; zerodrop turns each into the environment variable the docker CLI, the
docker SDK and compose all read, so every call zerodrop makes reaches the engine docker would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zerodrop.errors import InputError

PLUGIN_COMMAND = "zerodrop"
# Flag -> the variable it becomes; spelled as docker's `docker --help` lists them.
VALUED = {
    "--context": "DOCKER_CONTEXT",
    "-c": "DOCKER_CONTEXT",
    "--host": "DOCKER_HOST",
    "-H": "DOCKER_HOST",
    "--config": "DOCKER_CONFIG",
    "--tlscacert": "ca.pem",
    "--tlscert": "cert.pem",
    "--tlskey": "key.pem",
    "--log-level": "",  # docker's own logging: accepted, zerodrop's output does not change
    "-l": "",
}
SWITCHES = {"--tls": "DOCKER_TLS", "--tlsverify": "DOCKER_TLS_VERIFY", "--debug": "", "-D": ""}
CERT_FLAGS = ("--tlscacert", "--tlscert", "--tlskey")


@dataclass
class DockerFlags:
    """docker's flags as environment variables, and the arguments meant for zerodrop."""

    environ: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)


def _split(arg: str) -> tuple[str, str | None]:
    """`--context=X` -> (`--context`, `X`), `-cX` -> (`-c`, `X`), `--tls` -> (`--tls`, None)."""
    if arg.startswith("--"):
        name, eq, value = arg.partition("=")
        return name, value if eq else None
    if len(arg) > 2:
        return arg[:2], arg[2:].removeprefix("=")
    return arg, None


def _cert_path(certs: dict[str, str]) -> str:
    """DOCKER_CERT_PATH for --tlscacert/--tlscert/--tlskey: the folder that holds them, under the
    names every docker client looks for there."""
    folders = {str(Path(path).expanduser().parent) for path in certs.values()}
    if len(folders) != 1 or any(Path(path).name != name for name, path in certs.items()):
        raise InputError(
            "docker's --tlscacert, --tlscert and --tlskey reach zerodrop as DOCKER_CERT_PATH: give "
            "files named ca.pem, cert.pem and key.pem in one folder, or set DOCKER_CERT_PATH to it"
        )
    return folders.pop()


def _valued(found: DockerFlags, name: str, value: str, certs: dict[str, str], hosts: list[str]) -> None:
    """Record one of docker's flags that takes a value."""
    variable = VALUED[name]
    if name in CERT_FLAGS:
        certs[variable] = value
    elif variable == "DOCKER_HOST":
        hosts.append(value)
    elif variable:
        found.environ[variable] = value


def docker_flags(argv: Sequence[str]) -> DockerFlags:
    """Split `[docker's flags] zerodrop [zerodrop's arguments]` as the docker CLI hands it to its
    plugin; InputError (one line) for a flag docker has that zerodrop cannot honour."""
    found = DockerFlags()
    certs: dict[str, str] = {}
    hosts: list[str] = []
    args = list(argv)
    while args and (arg := args.pop(0)) != PLUGIN_COMMAND:
        name, value = _split(arg)
        if name in SWITCHES:
            if SWITCHES[name] and (value or "true").lower() not in ("false", "0"):
                found.environ[SWITCHES[name]] = "1"
            continue
        if name not in VALUED:
            raise InputError(f"docker {arg} ... zerodrop: zerodrop does not know docker's flag {name}")
        if value is None and not args:
            raise InputError(f"docker's flag {name} needs a value")
        _valued(found, name, args.pop(0) if value is None else value, certs, hosts)
    found.argv = args
    if len(hosts) > 1:
        raise InputError("docker -H: give one engine (zerodrop rolls a service on one engine)")
    if hosts:
        found.environ["DOCKER_HOST"] = hosts[0]
    if certs:
        found.environ["DOCKER_CERT_PATH"] = _cert_path(certs)
    return found
