"""`make clean-lab`: remove what killed test runs left behind, and only that. A stack the tests,
the workshop, the fault matrix or the soak made is a compose project whose name starts with one
of LEFTOVER_PREFIXES; its containers, networks, volumes and the images labelled with it go."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.errors import APIError, NotFound

from zerodrop.adapters.docker_sdk import PROJECT_LABEL
from zerodrop.adapters.engine_lock import PROJECT_LABEL as LOCK_PROJECT_LABEL

# zdswarm-: private Swarm stacks (removed by lab.swarm.stack.remove_leftover_stacks, not by compose labels).
# zdcluster-: the tests' three-node clusters (lab.cluster.nodes.remove_leftover_clusters; the
# default cluster, zdcluster, is `make cluster-down`'s to remove).
LEFTOVER_PREFIXES = (
    "zdtest-",
    "zdws-",
    "zdfault-",
    "zdsoak-",
    "zdbench-",
    "zdswarm-",
    "zdown-",
    "zdcluster-",
    "zdconf-",  # the conformance matrix's projects (lab.conformance)
    "zdwhole-",  # the whole-project example's projects (lab.example_whole)
)


@dataclass
class Cleanup:
    """What was removed, by kind, and what could not be (with why)."""

    projects: set[str] = field(default_factory=set)
    removed: dict[str, int] = field(
        default_factory=lambda: {"containers": 0, "networks": 0, "volumes": 0, "images": 0}
    )
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        """'clean-lab: 3 project(s): 5 containers, 3 networks, 3 volumes, 1 images removed'."""
        counts = ", ".join(f"{n} {kind}" for kind, n in self.removed.items())
        return (
            f"clean-lab: {len(self.projects)} leftover project(s) {sorted(self.projects)}: {counts} removed"
        )


def _leftover(labels: Mapping[str, Any] | None, prefixes: Iterable[str], keep: set[str]) -> str | None:
    project = str((labels or {}).get(PROJECT_LABEL, ""))
    return project if project.startswith(tuple(prefixes)) and project not in keep else None


def remove_leftovers(
    client: docker.DockerClient, prefixes: Iterable[str] = LEFTOVER_PREFIXES, keep: set[str] | None = None
) -> Cleanup:
    """Remove every container, network, volume and image of the matching projects (but `keep`'s).
    An image a container still uses is skipped, never forced."""
    keep = keep or set()
    prefixes = tuple(prefixes)
    done = Cleanup()
    has_project: dict[str, str | list[str] | bool] = {"label": PROJECT_LABEL}
    for container in client.containers.list(all=True, filters=has_project, ignore_removed=True):
        if project := _leftover(container.labels, prefixes, keep):
            done.projects.add(project)
            with contextlib.suppress(NotFound):
                container.remove(force=True, v=True)
                done.removed["containers"] += 1
    for lock in client.containers.list(all=True, filters={"label": LOCK_PROJECT_LABEL}, ignore_removed=True):
        if project := _leftover({PROJECT_LABEL: lock.labels.get(LOCK_PROJECT_LABEL, "")}, prefixes, keep):
            done.projects.add(project)
            with contextlib.suppress(NotFound):
                lock.remove(force=True)
                done.removed["containers"] += 1
    for kind, collection in (("networks", client.networks), ("volumes", client.volumes)):
        for item in collection.list(filters=has_project):
            if project := _leftover(item.attrs.get("Labels"), prefixes, keep):
                done.projects.add(project)
                with contextlib.suppress(NotFound):
                    item.remove()
                    done.removed[kind] += 1
    for image in client.images.list(filters=has_project):
        if _leftover(image.labels, prefixes, keep):
            try:
                client.images.remove(image.id or "", noprune=False)
                done.removed["images"] += 1
            except NotFound:
                continue
            except APIError as error:
                done.skipped.append(f"image {', '.join(image.tags) or image.short_id}: {error.explanation}")
    return done
