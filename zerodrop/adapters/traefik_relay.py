"""Traefik's API where it lives: `container:NAME[:PORT]` asks the API of the Traefik container NAME
(port 8080 unless given) from inside that container's network namespace, so no port of it needs
publishing and nothing is addressed by a container IP from the host. A helper container joins
the namespace for the command's life (removed at exit, and by itself within HELPER_LIFETIME);
each request is one exec in it, a bare-socket GET of 127.0.0.1:PORT, as the in-flight counts are
asked (zerodrop.adapters.in_container)."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import threading
from dataclasses import dataclass

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container

from zerodrop.adapters.docker_sdk import connect
from zerodrop.errors import RolloutInputError, TraefikUnavailable

PREFIX = "container:"
DEFAULT_PORT = 8080  # Traefik's own API entrypoint (`traefik`, :8080)
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$")
HELPER_LABEL = "zerodrop.helper"  # what `docker ps -a --filter label=zerodrop.helper` shows
HELPER_LIFETIME = 3600  # seconds a helper lives at most, if zerodrop dies without removing it
# One GET on a bare socket, in `python3 -S` (Debian's python3 and python:3.x images both have it):
# the status line's code on the first line, then the body.
GET = """\
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), float(sys.argv[3]))
s.settimeout(float(sys.argv[3]))
s.sendall(b"GET " + sys.argv[2].encode() + b" HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
raw = b""
while chunk := s.recv(65536):
    raw += chunk
head, _, body = raw.partition(b"\\r\\n\\r\\n")
parts = head.split(b" ", 2)
sys.stdout.buffer.write((parts[1] if len(parts) > 1 else b"0") + b"\\n" + body)
"""


@dataclass(frozen=True)
class ContainerApi:
    """Traefik's API inside a container: its name and the API's port there."""

    name: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        return f"{PREFIX}{self.name}:{self.port}"


def container_api(text: str) -> ContainerApi | None:
    """The container form of --traefik-api, None for a URL; RolloutInputError for a container form
    that names no container or no port."""
    if not text.startswith(PREFIX):
        return None
    name, _, port = text.removeprefix(PREFIX).partition(":")
    if not NAME.match(name) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise RolloutInputError(
            f"Traefik's API {text}: give container:NAME or container:NAME:PORT (e.g. container:proxy-1:8080)"
        )
    return ContainerApi(name, int(port) if port else DEFAULT_PORT)


class _Helpers:
    """The helper containers of this process, one per Traefik container, removed at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: docker.DockerClient | None = None
        self._helpers: dict[str, Container] = {}
        atexit.register(self.remove_all)

    def _start(self, client: docker.DockerClient, api: ContainerApi) -> Container:
        try:
            traefik = client.containers.get(api.name)
        except NotFound:
            raise RolloutInputError(f"Traefik's API {api}: no container {api.name} on this engine") from None
        image = os.environ.get("ZERODROP_HELPER_IMAGE", "python:3.12-slim")
        try:
            return client.containers.run(
                image, ["python3", "-S", "-c", f"import time; time.sleep({HELPER_LIFETIME})"],
                network_mode=f"container:{traefik.id}", labels={HELPER_LABEL: f"traefik-api {api}"},
                detach=True, auto_remove=True,
            )  # fmt: skip
        except (ImageNotFound, APIError) as error:
            raise TraefikUnavailable(f"Traefik's API {api}: its helper did not start: {error}") from None

    def helper(self, api: ContainerApi) -> Container:
        """The running helper in the Traefik container's namespace (started on first use)."""
        with self._lock:
            if self._client is None:
                self._client = connect()
            known = self._helpers.get(api.name)
            if known is not None:
                with contextlib.suppress(NotFound, APIError):
                    known.reload()
                    if known.status == "running":
                        return known
            self._helpers[api.name] = self._start(self._client, api)
            return self._helpers[api.name]

    def remove_all(self) -> None:
        """Remove every helper this process started."""
        with self._lock:
            for helper in self._helpers.values():
                with contextlib.suppress(NotFound, APIError):
                    helper.remove(force=True)
            self._helpers.clear()


HELPERS = _Helpers()


def relay_get(api: ContainerApi, path: str, timeout: float) -> tuple[int, bytes]:
    """GET a path of the API inside the container: the status code and body;
    TraefikUnavailable if nothing answers there."""
    helper = HELPERS.helper(api)
    try:
        result = helper.exec_run(["python3", "-S", "-c", GET, str(api.port), path, f"{timeout:g}"])
    except APIError as error:
        raise TraefikUnavailable(f"Traefik's API {api} does not answer: {error}") from None
    output = result.output if isinstance(result.output, bytes) else b""
    status, _, body = output.partition(b"\n")
    if result.exit_code != 0 or not status.isdigit():
        tail = output.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise TraefikUnavailable(f"Traefik's API {api} does not answer: {tail[0][:200]}")
    return int(status), body
