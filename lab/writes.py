"""The lost-write check: every acknowledged event id must be persisted on the data volume,
or still buffered in a replica that is running (and will persist it when it stops)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import docker

from lab.docker_api import app_get_json, read_directory, service_containers

DATA_DIR = "/data"


@dataclass(frozen=True)
class WriteCheck:
    """Where every acknowledged write is."""

    acked: int
    persisted: int
    buffered: int
    lost: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for summaries."""
        return (
            f"writes: acknowledged {self.acked}, persisted {self.persisted}, "
            f"still buffered in running replicas {self.buffered}, lost {len(self.lost)}"
        )


def persisted_ids(files: dict[str, bytes]) -> set[str]:
    """Event ids in the replicas' JSON-lines files (a torn last line is ignored)."""
    ids: set[str] = set()
    for name, content in files.items():
        if not name.startswith("events-"):
            continue
        for line in content.decode(errors="replace").splitlines():
            try:
                ids.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError):
                continue
    return ids


def buffered_ids(container: docker.models.containers.Container) -> set[str]:
    """Ids a running replica holds in memory, asked inside the container (none if it is gone)."""
    try:
        return {str(i) for i in app_get_json(container, "/events")["buffered"]}
    except RuntimeError:
        return set()


def check_writes(client: docker.DockerClient, project: str, service: str, acked: set[str]) -> WriteCheck:
    """Look every acknowledged id up on the volume (through a replica that mounts it) and in the
    running replicas' buffers."""
    containers = service_containers(client, project, service, all=True)
    running = [c for c in containers if c.status == "running"]
    files = read_directory((running or containers)[0], DATA_DIR) if containers else {}
    on_disk = persisted_ids(files)
    in_memory: set[str] = set()
    for container in running:
        in_memory |= buffered_ids(container)
    lost = sorted(acked - on_disk - in_memory)
    return WriteCheck(len(acked), len(acked & on_disk), len(acked & in_memory - on_disk), lost)
