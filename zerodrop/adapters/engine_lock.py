"""One rollout (or recover) of a service at a time on an engine, whoever runs it: the lock is a
container the engine itself holds, created (never started) under a name made of the project and
the service. The engine creates one container of a name, so whichever client creates it first
holds the lock, from any $HOME, user or CI runner that reaches that engine; `docker ps -a` shows
it while it is held, and after a holder that was killed. A lock whose holder ran on this host and
is gone is taken over; one held from another host is never guessed stale."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from zerodrop.errors import DockerUnavailable, RolloutLocked

PREFIX = "zerodrop-lock-"
HOLDER_LABEL = "zerodrop.lock.holder"
PID_LABEL = "zerodrop.lock.pid"
HOST_LABEL = "zerodrop.lock.host"
PROJECT_LABEL = "zerodrop.lock.project"  # not compose's own label: compose would call it an orphan
HTTP_CONFLICT = 409
COMPOSE_LABELS = "com.docker.compose."


def lock_name(project: str, service: str) -> str:
    """The lock container's name for a service of a project (Docker's name characters only)."""
    return PREFIX + re.sub(r"[^a-zA-Z0-9_.-]", "-", f"{project}-{service}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gone_from_here(container: Container) -> bool:
    """Whether the lock's holder ran on this host and is no longer running."""
    labels = (container.attrs.get("Config") or {}).get("Labels") or {}
    pid = labels.get(PID_LABEL, "")
    return labels.get(HOST_LABEL) == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def _create(client: docker.DockerClient, name: str, image: str, holder: str, project: str) -> None:
    # A container takes its image's labels, and an image compose built carries compose's own
    # (project, service): blanked here, or compose and zerodrop would count the lock as a replica.
    inherited = client.images.get(image).labels or {}
    labels = {key: "" for key in inherited if key.startswith(COMPOSE_LABELS)}
    labels |= {HOLDER_LABEL: holder, PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()}
    labels[PROJECT_LABEL] = project
    client.containers.create(image, command=["true"], entrypoint=["true"], name=name, labels=labels)


@contextmanager
def engine_lock(
    client: docker.DockerClient, project: str, service: str, image: str, purpose: str
) -> Iterator[None]:
    """Hold the service's lock on the engine for the block (`image`: one the engine has, to create
    the lock container from); RolloutLocked (nothing changed) if another holder has it."""
    name = lock_name(project, service)
    holder = f"pid {os.getpid()} on {socket.gethostname()}, {purpose}, since {time.strftime('%H:%M:%S')}"
    for attempt in range(2):
        try:
            _create(client, name, image, holder, project)
            break
        except APIError as error:
            if error.status_code != HTTP_CONFLICT:
                raise DockerUnavailable(f"creating the rollout lock {name}: {error}") from None
            existing = client.containers.get(name)
            if attempt == 0 and _gone_from_here(existing):
                with contextlib.suppress(NotFound):
                    existing.remove(force=True)
                continue
            labels = (existing.attrs.get("Config") or {}).get("Labels") or {}
            raise RolloutLocked(
                f"a rollout of {project}/{service} is already running on this engine "
                f"({labels.get(HOLDER_LABEL, 'holder unknown')}); its lock is the container {name}"
                "; if no such rollout runs any more, `docker rm` it"
            ) from None
    try:
        yield
    finally:
        with contextlib.suppress(NotFound, APIError):
            client.containers.get(name).remove(force=True)


def remove_project_locks(client: docker.DockerClient, project: str) -> int:
    """Remove every engine lock a project's rollouts left (a holder killed mid-rollout leaves its
    lock): for a project being taken down, whose services are gone with it. How many were removed."""
    removed = 0
    for lock in client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
        with contextlib.suppress(NotFound):
            lock.remove(force=True)
            removed += 1
    return removed
