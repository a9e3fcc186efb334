"""Asking the app inside its own container (never over the host network to a container address):
its JSON endpoints, by a tiny HTTP client run in the container, and the files it keeps."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

from docker.errors import APIError, NotFound
from docker.models.containers import Container

from zerodrop.adapters.docker_sdk import container_env
from zerodrop.errors import ReplicaUnreachable

DEFAULT_APP_PORT = "8000"  # the app's own default (zerodrop_app.settings); compose sets APP_PORT


# The in-container client: an HTTP/1.0 GET on a bare socket, in `python3 -S` (no site, no urllib).
# Under load every process start waits for CPU: at 1,000 GET/s on 2 cores this exec took a median
# 0.39 s against 0.77 s for `python -c` with urllib (bare `true`: 0.15 s).
IN_CONTAINER_GET = """\
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), float(sys.argv[3]))
s.sendall(b"GET " + sys.argv[2].encode() + b" HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
raw = b""
while chunk := s.recv(65536):
    raw += chunk
head, _, body = raw.partition(b"\\r\\n\\r\\n")
status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b"?"
sys.stdout.write(body.decode(errors="replace") if status == b"200" else "HTTP " + status.decode())
sys.exit(0 if status == b"200" else 1)
"""


IN_CONTAINER_TIMEOUT = 3.0  # seconds the app may take to answer, beyond any hold the path asks for


def app_get_json(container: Container, path: str, hold: float = 0.0) -> dict[str, Any]:
    """GET one of the app's JSON endpoints from inside the container, on the port its APP_PORT
    names (never over the host's network to a container address); ReplicaUnreachable if it does
    not answer. `hold`: how long the endpoint may hold its answer on purpose."""
    port = container_env(container).get("APP_PORT") or DEFAULT_APP_PORT
    timeout = f"{IN_CONTAINER_TIMEOUT + hold:g}"
    result = container.exec_run(["python3", "-S", "-c", IN_CONTAINER_GET, port, path, timeout], demux=False)
    output = result.output if isinstance(result.output, bytes) else b""
    if result.exit_code != 0:
        tail = output.decode(errors="replace")[-200:]
        raise ReplicaUnreachable(f"{path} failed in {container.name}: {tail}")
    try:
        answer: dict[str, Any] = json.loads(output.decode())
    except ValueError:
        raise ReplicaUnreachable(f"{path} in {container.name} answered no JSON") from None
    return answer


def replica_stats(
    container: Container, idle_within: float = 0.0, streams_within: float = 0.0
) -> dict[str, Any]:
    """The app's /stats: phase, in-flight work requests, streams, buffered and persisted events;
    with `idle_within` (`streams_within`), the app answers once nothing is in flight (no stream is
    open), or after that many seconds (an app without that parameter answers at once: the caller
    just polls again)."""
    if idle_within:
        return app_get_json(container, f"/stats?idle_within={idle_within:g}", hold=idle_within)
    if streams_within:
        return app_get_json(container, f"/stats?streams_within={streams_within:g}", hold=streams_within)
    return app_get_json(container, "/stats")


def read_directory(container: Container, path: str) -> dict[str, bytes]:
    """Every regular file under `path` inside a container (running or stopped), by file name."""
    try:
        chunks, _ = container.get_archive(path)
    except (NotFound, APIError):
        return {}
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        for member in archive.getmembers():
            extracted = archive.extractfile(member) if member.isfile() else None
            if extracted is not None:
                files[member.name.rsplit("/", 1)[-1]] = extracted.read()
    return files
