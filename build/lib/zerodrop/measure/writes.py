"""Where every acknowledged write is. Mid-run (`check_writes`) a write is on the data volume or
still buffered in a running replica: a progress figure, never a verdict. The verdict
(`final_write_check`) comes after every replica has stopped gracefully: then an acknowledged write
that is not in the data files is lost."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.models.containers import Container

from zerodrop.adapters.docker_sdk import exit_code, service_containers
from zerodrop.adapters.in_container import app_get_json, read_directory
from zerodrop.errors import ReplicaUnreachable
from zerodrop.parallel import each

DATA_DIR = "/data"


@dataclass(frozen=True)
class WriteCheck:
    """Acknowledged writes: on the volume, buffered in running replicas, and found nowhere.
    `final`: taken after every replica stopped, so `missing` are lost writes."""

    acked: int
    persisted: int
    buffered: int
    missing: list[str] = field(default_factory=list)
    final: bool = False
    stop_exit_codes: list[int | None] = field(default_factory=list)

    @property
    def lost(self) -> int | None:
        """Lost writes: known only from a final check (None before)."""
        return len(self.missing) if self.final else None

    def to_json(self) -> dict[str, object]:
        """The form reports save."""
        return {
            "acked": self.acked,
            "persisted": self.persisted,
            "buffered": self.buffered,
            "missing": self.missing,
            "final": self.final,
            "stop_exit_codes": self.stop_exit_codes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteCheck:
        """Back from to_json's form."""
        return cls(
            data["acked"],
            data["persisted"],
            data.get("buffered", 0),
            list(data.get("missing", data.get("lost", []))),
            bool(data.get("final", False)),
            list(data.get("stop_exit_codes", [])),
        )

    def line(self) -> str:
        """One line for summaries."""
        if self.final:
            return (
                f"writes: acknowledged {self.acked}, on the volume after every replica stopped "
                f"{self.persisted}, lost {len(self.missing)} (replica exits {self.stop_exit_codes})"
            )
        return (
            f"writes so far: acknowledged {self.acked}, persisted {self.persisted}, still buffered in "
            f"running replicas {self.buffered}, found nowhere {len(self.missing)} "
            "(the verdict comes when every replica has stopped)"
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


def buffered_ids(container: Container) -> set[str]:
    """Ids a running replica holds in memory, asked inside the container (none if it is gone)."""
    try:
        return {str(i) for i in app_get_json(container, "/events")["buffered"]}
    except (ReplicaUnreachable, docker.errors.APIError):
        return set()


def _on_volume(containers: list[Container]) -> set[str]:
    running = [c for c in containers if c.status == "running"]
    return persisted_ids(read_directory((running or containers)[0], DATA_DIR)) if containers else set()


def check_writes(client: docker.DockerClient, project: str, service: str, acked: set[str]) -> WriteCheck:
    """Progress: look every acknowledged id up on the volume (through a replica that mounts it)
    and in the running replicas' buffers."""
    containers = service_containers(client, project, service, all=True)
    on_disk = _on_volume(containers)
    in_memory: set[str] = set()
    for container in containers:
        if container.status == "running":
            in_memory |= buffered_ids(container)
    missing = sorted(acked - on_disk - in_memory)
    return WriteCheck(len(acked), len(acked & on_disk), len(acked & in_memory - on_disk), missing)


def stop_gracefully(container: Container) -> int | None:
    """`docker stop` with the container's own grace period (one SIGTERM, as in production: the
    app's lame duck, then its shutdown work persists the buffer); its exit code. Never a second
    signal: once the drain window is over, the app takes that as "force" and skips the work."""
    container.reload()
    container.stop(timeout=int(container.attrs.get("Config", {}).get("StopTimeout") or 10))
    return exit_code(container)


def final_write_check(client: docker.DockerClient, project: str, service: str, acked: set[str]) -> WriteCheck:
    """The verdict: stop every replica of the service gracefully (they persist their buffers), then
    look every acknowledged id up in the data files. Call it when no traffic is sent any more."""
    running = [c for c in service_containers(client, project, service) if c.status == "running"]
    codes = each(stop_gracefully, running)
    on_disk = _on_volume(service_containers(client, project, service, all=True))
    missing = sorted(acked - on_disk)
    return WriteCheck(len(acked), len(acked & on_disk), 0, missing, final=True, stop_exit_codes=codes)
