"""The proxy rollout's platform on the local engine: the Traefik service's containers (a second one
added by compose's own `up --scale`), Traefik's API asked on one fresh connection per answer, and
the streams signal of each routed service that declares one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
from docker.errors import NotFound

from zerodrop.adapters import compose, docker_sdk
from zerodrop.adapters.traefik_api import masked
from zerodrop.errors import ComposeError, OperationFailed, PlatformUnavailable, first_line
from zerodrop.proxy.platform import Instance
from zerodrop.proxy.routing import Answer, routing_of
from zerodrop.target import ComposeTarget

STOP_GRACE = 40  # seconds a half-started second Traefik has to finish what it took
LISTS = "?per_page=1000"  # Traefik's API pages its lists (100 by default)


@dataclass
class DockerProxyPlatform:
    """ProxyPlatform (zerodrop.proxy.handover) for one compose project's Traefik service."""

    client: docker.DockerClient
    target: ComposeTarget  # its `service` is the Traefik service
    api_url: str
    streams: Sequence[tuple[str, str]] = ()  # (service, signal) of each routed service with streams
    extra_files: Sequence[Path] = ()  # compose files on top of the project's (the --image override)

    def instances(self) -> list[Instance]:
        """The running containers of the Traefik service."""
        found = docker_sdk.service_containers(self.client, self.target.project, self.target.service)
        return [Instance(c.id or "", c.name or "") for c in found]

    def start_second(self) -> Instance:
        """compose's `up -d --no-deps --no-recreate --scale SERVICE=2`: the first stays as it is, the
        second is created from what the files say now."""
        before = {i.id for i in self.instances()}
        try:
            compose.scale(self.target, 2, extra_files=self.extra_files)
        except ComposeError as error:  # whatever it created may have bound the ports: stopped with its grace
            for container in docker_sdk.service_containers(
                self.client, self.target.project, self.target.service, all=True
            ):
                if container.id not in before:
                    self.client.api.stop(container.id or "", timeout=STOP_GRACE)
                    container.remove()
            said = [line.strip() for line in error.output.splitlines() if line.strip()] or [first_line(error)]
            raise OperationFailed(
                f"compose could not start a second {self.target.service} ({said[-1][:200]}): "
                "what it created was removed; the old one serves as before"
            ) from None
        added = [i for i in self.instances() if i.id not in before]
        if len(added) != 1:
            raise PlatformUnavailable(f"compose's scale to 2 added {len(added)} Traefik containers, not one")
        return added[0]

    def running(self, instance: Instance) -> bool:
        """Whether the container still runs."""
        container = docker_sdk.get_container(self.client, instance.id)
        return container is not None and container.status == "running"

    def ask(self) -> Answer:
        """/api/version, then the routers and services, on one connection: one process's answer."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        try:
            with httpx.Client(base_url=self.api_url, timeout=3.0, limits=limits) as api:
                started = str(api.get("/api/version").raise_for_status().json()["startDate"])
                routers = api.get(f"/api/http/routers{LISTS}").raise_for_status().json()
                services = api.get(f"/api/http/services{LISTS}").raise_for_status().json()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise PlatformUnavailable(
                f"Traefik's API at {masked(self.api_url)}: {type(error).__name__} {first_line(error)}"
            ) from None
        return Answer(started, routing_of(routers, services))

    def terminate(self, instance: Instance) -> None:
        """SIGTERM to the Traefik."""
        self.client.api.kill(instance.id, signal="SIGTERM")

    def end_streams(self) -> int:
        """Each routed service's streams signal to each of its running replicas; how many got one."""
        sent = 0
        for service, signal in self.streams:
            for container in docker_sdk.service_containers(self.client, self.target.project, service):
                try:
                    container.kill(signal=signal)
                    sent += 1
                except NotFound:
                    continue
        return sent

    def stop(self, instance: Instance, grace: float) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        self.client.api.stop(instance.id, timeout=max(0, round(grace)))

    def remove(self, instance: Instance) -> None:
        """Remove the container (it has exited)."""
        self.client.api.remove_container(instance.id)
