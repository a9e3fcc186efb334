"""All of the lab's Docker access, through the docker SDK (one client, passed around)."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container
from docker.tls import TLSConfig

from zerodrop.adapters.docker_context import docker_endpoint, engine_tls
from zerodrop.errors import DockerUnavailable
from zerodrop.model import Replica
from zerodrop.rollout.deadlines import ServiceTiming, timing_from_inspect

HTTP_CONFLICT = 409  # Docker's answer to a signal for a container that does not run
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"

ENGINE_HINT = (
    "Docker engine unreachable: start Docker Desktop or your engine, or point DOCKER_HOST "
    "(or `docker context use`) at one that runs"
)


def connect() -> docker.DockerClient:
    """A client for the engine the docker CLI would use (DOCKER_HOST, else the active context),
    API version negotiated; DockerUnavailable if it is down."""
    host, source = docker_endpoint()
    options: dict[str, Any] = {}
    if host.startswith("ssh://"):  # as the docker CLI does it: through the ssh client, no paramiko
        if shutil.which("ssh") is None:
            raise DockerUnavailable(f"{host} (from {source}) is reached over ssh: install an ssh client")
        options["use_ssh_client"] = True
    tls = engine_tls()
    if tls is not None and host.startswith(("tcp://", "https://")):
        cert = (tls.cert, tls.key) if tls.cert and tls.key else None
        options["tls"] = TLSConfig(client_cert=cert, ca_cert=tls.ca, verify=tls.verify)
    try:
        client = docker.DockerClient(base_url=host, version="auto", timeout=60, **options)
        client.ping()
    except DockerException as error:
        said = str(error).splitlines()[0][:200] if str(error) else error.__class__.__name__
        raise DockerUnavailable(f"{ENGINE_HINT} (no answer at {host}, from {source}: {said})") from None
    return client


def container_env(container: Container) -> dict[str, str]:
    """A container's environment variables, as it was created with them."""
    pairs = container.attrs.get("Config", {}).get("Env") or []
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def describe(container: Container) -> Replica:
    """A Replica from a container's current attributes (call after reload())."""
    attrs = container.attrs
    state = attrs.get("State", {})
    networks = attrs.get("NetworkSettings", {}).get("Networks") or {}
    labels = attrs.get("Config", {}).get("Labels") or {}
    return Replica(
        id=container.id or "",
        name=container.name or "",
        hostname=attrs.get("Config", {}).get("Hostname", ""),
        image=attrs.get("Config", {}).get("Image", ""),
        version=container_env(container).get("APP_VERSION", "?"),
        status=state.get("Status", "?"),
        health=(state.get("Health") or {}).get("Status", "none"),
        ips=tuple(n["IPAddress"] for n in networks.values() if n.get("IPAddress")),
        number=int(labels.get(NUMBER_LABEL, "0") or 0),
        stop_timeout=float(attrs.get("Config", {}).get("StopTimeout") or 10),
        created=parse_docker_time(attrs.get("Created", "")),
    )


def parse_docker_time(stamp: str) -> float | None:
    """Epoch seconds from Docker's RFC 3339 timestamps (nanoseconds trimmed); None if unparsable."""
    if not stamp:
        return None
    head, _, fraction = stamp.rstrip("Z").partition(".")
    digits = "".join(ch for ch in fraction if ch.isdigit())[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{head}.{digits}+00:00").timestamp()
    except ValueError:
        return None


def service_containers(
    client: docker.DockerClient, project: str, service: str | None = None, *, all: bool = False
) -> list[Container]:
    """Containers of a compose project (optionally one service), oldest number first."""
    labels = [f"{PROJECT_LABEL}={project}"]
    if service:
        labels.append(f"{SERVICE_LABEL}={service}")
    found = client.containers.list(all=all, filters={"label": labels}, ignore_removed=True)
    return sorted(found, key=lambda c: int(c.labels.get(NUMBER_LABEL, "0") or 0))


def replicas(client: docker.DockerClient, project: str, service: str, *, all: bool = False) -> list[Replica]:
    """The running replicas of a service (stopped ones too with `all`), fresh from the engine."""
    return [describe(c) for c in service_containers(client, project, service, all=all)]


def config_hashes_running(client: docker.DockerClient, project: str) -> dict[str, list[str]]:
    """The `com.docker.compose.config-hash` of each running container of a project, by service
    (one-off containers of `compose run` left out)."""
    found: dict[str, list[str]] = {}
    for container in service_containers(client, project):
        labels = container.labels
        if labels.get(ONEOFF_LABEL, "False") != "True" and SERVICE_LABEL in labels:
            found.setdefault(labels[SERVICE_LABEL], []).append(labels.get(CONFIG_HASH_LABEL, ""))
    return found


def orphan_containers(client: docker.DockerClient, project: str, services: Iterable[str]) -> list[Container]:
    """The containers of a project (stopped ones too) whose service the compose files no longer
    have: compose's orphans (one-off containers of `compose run` left out)."""
    known = set(services)
    return [
        c for c in service_containers(client, project, all=True)
        if c.labels.get(ONEOFF_LABEL, "False") != "True" and c.labels.get(SERVICE_LABEL) not in known
    ]  # fmt: skip


def remove_with_grace(client: docker.DockerClient, container: Container) -> None:
    """Stop a container with its own stop grace (SIGTERM, then the engine's SIGKILL at its
    StopTimeout), then remove it."""
    client.api.stop(container.id or "")
    container.remove()


def get_container(client: docker.DockerClient, container_id: str) -> Container | None:
    """A container by id or name, or None if it is gone."""
    try:
        return client.containers.get(container_id)
    except NotFound:
        return None


def send_signal(container: Container, signal_name: str) -> None:
    """Deliver a signal (SIGUSR1 drains the app, SIGUSR2 undrains it)."""
    container.kill(signal=signal_name)


def health_log(container: Container, last: int = 5) -> list[str]:
    """The last healthcheck outputs Docker recorded for a container."""
    container.reload()
    entries = ((container.attrs.get("State") or {}).get("Health") or {}).get("Log") or []
    return [f"exit {e.get('ExitCode')}: {str(e.get('Output', '')).strip()}" for e in entries[-last:]]


def health_log_ends(container: Container) -> list[str]:
    """When each healthcheck Docker still remembers ended (changes when a new one completes)."""
    container.reload()
    entries = ((container.attrs.get("State") or {}).get("Health") or {}).get("Log") or []
    return [str(e.get("End", "")) for e in entries]


def stop_signal(container: Container) -> str:
    """The signal `docker stop` sends the container: its image's or compose's stop_signal
    (nginx: SIGQUIT, its graceful shutdown), else SIGTERM."""
    return str((container.attrs.get("Config") or {}).get("StopSignal") or "SIGTERM")


def send_stop_signal(container: Container) -> None:
    """One stop signal, the one `docker stop` would send (stop_signal); nothing if the container
    has exited already (409). Any other failure raises (an engine error included), so the caller
    knows the signal was not sent."""
    try:
        container.kill(signal=stop_signal(container))
    except APIError as error:
        if error.status_code != HTTP_CONFLICT:
            raise


def wait_or_kill(container: Container, remaining: float) -> int:
    """Wait up to `remaining` seconds for the container to exit, SIGKILL it after that (as
    `docker stop` would); its exit code. An engine that does not answer raises
    requests.ConnectionError: that is not the grace running out, and kills nothing."""
    started = time.monotonic()
    try:
        result = container.wait(timeout=max(remaining, 0.001))
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as error:
        # docker-py reports a read timeout on its unix socket as a ConnectionError ("Read timed
        # out"): tell it from a refused or reset connection by the message and the time it took.
        timed_out = isinstance(error, requests.exceptions.ReadTimeout) or (
            "timed out" in str(error).lower() and time.monotonic() - started >= remaining * 0.9
        )
        if not timed_out:
            raise
        with contextlib.suppress(APIError):
            container.kill(signal="SIGKILL")
        result = container.wait(timeout=60)
    return int(result.get("StatusCode", -1))


def exit_code(container: Container) -> int | None:
    """The exit code of a stopped container, None while it runs."""
    container.reload()
    state = container.attrs.get("State") or {}
    return None if state.get("Running") else int(state.get("ExitCode", -1))


def service_timing(client: docker.DockerClient, project: str, service: str) -> ServiceTiming:
    """The healthcheck and stop grace a running replica of the service was created with, and the
    provider throttle of the project's Traefik (from its command line), as Docker reports them."""
    running = service_containers(client, project, service)
    if not running:
        raise ValueError(f"no running replica of {service} to read its healthcheck from")
    proxy_args = [str(a) for c in service_containers(client, project) for a in c.attrs.get("Args") or []]
    return timing_from_inspect(running[-1].attrs["Config"], proxy_args)


def memory_usage(container: Container) -> int:
    """Bytes of memory the container uses now, as `docker stats` shows it (without page cache)."""
    stats = container.stats(stream=False, one_shot=True)
    assert isinstance(stats, dict), "stream=False answers one sample"
    memory = stats.get("memory_stats") or {}
    details = memory.get("stats") or {}
    cache = details.get("inactive_file", details.get("total_inactive_file", details.get("cache", 0)))
    return int(memory.get("usage", 0)) - int(cache or 0)


def image_exists(client: docker.DockerClient, reference: str) -> bool:
    """Whether the engine has this image locally."""
    try:
        client.images.get(reference)
    except NotFound:
        return False
    return True
