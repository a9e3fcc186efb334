"""The rollout's platform on the local engine: Docker SDK, compose and Traefik's API behind the
ServicePlatform protocol of zerodrop.model (unit tests drive the rollout with a fake instead). Failed
calls that may pass if retried surface as PlatformUnavailable."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import docker
import httpx
import requests
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container

from zerodrop.adapters import compose, docker_sdk
from zerodrop.adapters.app_control import AppControl
from zerodrop.adapters.traefik_api import routed_ips, router_doc, router_problem, server_ip, server_urls
from zerodrop.adapters.traefik_reads import SharedReads
from zerodrop.errors import PlatformUnavailable, ReplicaUnreachable, TraefikUnavailable, first_line
from zerodrop.model import EntrypointAnswer, Release, Replica, StreamsEnded
from zerodrop.parallel import each
from zerodrop.rollout.deadlines import ServiceTiming
from zerodrop.target import ComposeTarget


@contextmanager
def transient(what: str) -> Iterator[None]:
    """Turn a failed Docker, Traefik or in-container call into PlatformUnavailable."""
    try:
        yield
    except NotFound:
        raise
    except (
        APIError,
        DockerException,
        requests.RequestException,
        httpx.HTTPError,
        TraefikUnavailable,
        ReplicaUnreachable,
    ) as error:
        raise PlatformUnavailable(f"{what}: {first_line(error)}") from error


class DockerPlatform:
    """ServicePlatform on the local engine, for one service of a compose project; `control` is how
    it reaches the app inside the replicas (a service's drain contract; the lab hands its own)."""

    def __init__(self, client: docker.DockerClient, cfg: ComposeTarget, control: AppControl) -> None:
        self.client = client
        self.cfg = cfg
        self.control = control
        self.signals_sent: dict[str, int] = {}  # SIGTERMs `stop` has sent, by replica id
        self.stop_deadlines: dict[str, float] = {}  # when `stop` SIGKILLs, by replica id
        # Whether a compose command under way should be ended (the rollout sets its interrupt).
        self.should_stop: Callable[[], bool] = lambda: False
        self.expected_rule: str | None = None  # the router's rule when first seen routing
        self.shared: SharedReads | None = None  # Traefik's API read once for rollouts side by side

    @property
    def reclaimable(self) -> bool:
        """As the app's drain contract says."""
        return self.control.reclaimable

    def _describe(self, container: Container) -> Replica:
        return replace(docker_sdk.describe(container), version=self.control.version_of(container))

    def _container(self, replica_id: str) -> Container | None:
        with transient(f"inspecting {replica_id[:12]}"):
            return docker_sdk.get_container(self.client, replica_id)

    def replicas(self, include_stopped: bool = False) -> list[Replica]:
        """Running replicas of the service (and stopped containers of it, if asked)."""
        with transient("listing replicas"):
            containers = docker_sdk.service_containers(
                self.client, self.cfg.project, self.cfg.service, all=include_stopped
            )
            return [self._describe(c) for c in containers]

    def phase(self, replica_id: str) -> str:
        """The app's phase: starting, ready or draining ("gone" if it does not run)."""
        container = self._container(replica_id)
        if container is None or container.status != "running":
            return "gone"
        with transient(f"asking {container.name} for its phase"):
            return self.control.phase(container)

    def find(self, replica_id: str) -> Replica | None:
        """A replica's current state, None if it no longer exists."""
        container = self._container(replica_id)
        return self._describe(container) if container is not None else None

    def routed_ips(self) -> set[str]:
        """IPs Traefik routes to for the service."""
        with transient("asking Traefik's API"):
            if self.shared is None:
                return routed_ips(self.cfg.api_url, self.cfg.traefik_service)
            doc = self.shared.doc("services", self.cfg.traefik_service)
            return set() if doc is None else {server_ip(url) for url in server_urls(doc)}

    def route_problem(self) -> str | None:
        """What is wrong with the service's router in Traefik's API, None when it routes with the
        rule it had when first asked."""
        with transient("asking Traefik's API for the router"):
            doc = (
                router_doc(self.cfg.api_url, self.cfg.traefik_router)
                if self.shared is None
                else self.shared.doc("routers", self.cfg.traefik_router)
            )
        problem = router_problem(doc, self.cfg.traefik_router, self.expected_rule)
        if problem is None and doc is not None and self.expected_rule is None:
            self.expected_rule = str(doc.get("rule"))
        return problem

    @property
    def answer_timeout(self) -> float:
        """How long the app's request through the entrypoint may take."""
        return self.control.answer_timeout

    def entrypoint_answer(self) -> EntrypointAnswer:
        """One request through Traefik's entrypoint, as the app's control builds it."""
        with transient("a request through Traefik's entrypoint"):
            return self.control.answer(self.cfg)

    def service_timing(self) -> ServiceTiming:
        """The service's healthcheck and stop grace, and Traefik's provider throttle."""
        with transient("reading the service's healthcheck"):
            return docker_sdk.service_timing(self.client, self.cfg.project, self.cfg.service)

    def image_exists(self, release: Release) -> bool:
        """Whether the release's image is present locally."""
        return docker_sdk.image_exists(self.client, self.cfg.image_of(release.version))

    def build(self, release: Release) -> None:
        """Build the release's image with compose (APP_VERSION baked in)."""
        compose.build(
            self.cfg,
            [self.cfg.service],
            extra_env=self.control.compose_for(release)[0],
            should_stop=self.should_stop,
        )

    def scale_up(self, release: Release, total: int) -> None:
        """Add replicas of the release until the service has `total` containers, stopped ones
        included (compose counts them): compose creates them with the release's config and labels,
        so `docker compose ps` and a later `up -d` with the same variables agree with them; they
        are started here, so compose never starts a stopped old replica again."""
        before = {r.id for r in self.replicas(include_stopped=True)}
        variables, files = self.control.compose_for(release)
        compose.scale(
            self.cfg, total, variables, start=False, should_stop=self.should_stop, extra_files=files
        )
        with transient("starting the new replicas"):
            created = [
                container
                for replica in self.replicas(include_stopped=True)
                if replica.id not in before
                and (container := docker_sdk.get_container(self.client, replica.id)) is not None
                and container.status == "created"
            ]
            # All at once: each start is half a second under load, and they do not depend on each other.
            each(Container.start, created)

    def drain(self, replica_id: str) -> None:
        """Take the replica out of rotation as the app agrees to (the lab's app: SIGUSR1)."""
        container = self._container(replica_id)
        if container is not None:
            with transient(f"draining {container.name}"):
                self.control.drain(container)

    def undrain(self, replica_id: str) -> None:
        """Put a drained replica back (the lab's app: SIGUSR2)."""
        container = self._container(replica_id)
        if container is not None:
            with transient(f"undraining {container.name}"):
                self.control.undrain(container)

    def inflight(self, replica_id: str, wait: float = 0.0) -> int | None:
        """In-flight work requests, asked in the replica's own network namespace (held until the
        count is 0, at most `wait` seconds); None when the app has no way to say."""
        container = self._container(replica_id)
        if container is None or container.status != "running":
            return 0  # nothing is in flight in a container that does not run
        with transient(f"asking {container.name} for its in-flight count"):
            return self.control.inflight(container, wait)

    def end_streams(self, replica_id: str, wait: float) -> StreamsEnded | None:
        """As the app's control says (None: no streams to end)."""
        container = self._container(replica_id)
        if container is None or container.status != "running":
            return StreamsEnded(0)
        with transient(f"ending the streams of {container.name}"):
            return self.control.end_streams(container, wait)

    def stop(self, replica_id: str, timeout: float) -> int | None:
        """Stop a replica Traefik no longer routes with its own stop signal (SIGTERM unless its
        stop_signal says otherwise): the lab's app gets two, which it reads as "stop, and skip
        what is left of the lame-duck window" (nothing can reach it any more; in-flight requests
        and the shutdown work still finish); then SIGKILL `timeout` seconds after the first; the
        exit code. A retry after a failed call sends only the SIGTERMs not yet sent
        (a third would make the app skip its shutdown work) and waits only what is left."""
        container = self._container(replica_id)
        if container is None:
            return None
        deadline = self.stop_deadlines.setdefault(replica_id, time.monotonic() + timeout)
        with transient(f"stopping {container.name}"):
            while self.signals_sent.get(replica_id, 0) < self.control.stop_signals:
                docker_sdk.send_stop_signal(container)
                self.signals_sent[replica_id] = self.signals_sent.get(replica_id, 0) + 1
            return docker_sdk.wait_or_kill(container, deadline - time.monotonic())

    def remove(self, replica_id: str) -> None:
        """Remove the container, killing it if it still runs."""
        container = self._container(replica_id)
        if container is not None:
            with contextlib.suppress(NotFound), transient(f"removing {container.name}"):
                container.remove(force=True)
        self.control.forget(replica_id)

    def diagnostics(self, replica_id: str) -> list[str]:
        """Health log and last 20 log lines."""
        container = self._container(replica_id)
        if container is None:
            return ["(container is gone)"]
        try:
            lines = [f"health: {line}" for line in docker_sdk.health_log(container)]
            logs = container.logs(tail=20).decode(errors="replace").splitlines()
        except (APIError, requests.RequestException) as error:
            return [f"(diagnostics unavailable: {error})"]
        return lines + [f"log: {line}" for line in logs]
