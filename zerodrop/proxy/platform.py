"""What the proxy hand-over needs of the world: the Traefik service's containers, its API, and the
routed services' streams signal (zerodrop.adapters.proxy_platform on the engine; a fake in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from zerodrop.proxy.routing import Answer


@dataclass(frozen=True)
class Instance:
    """One Traefik container of the service."""

    id: str
    name: str


class ProxyPlatform(Protocol):
    """The Traefik service, its API and the routed services behind it, as the handover needs them."""

    def instances(self) -> list[Instance]:
        """The running containers of the Traefik service."""
        ...

    def start_second(self) -> Instance:
        """A second container of the service, from what the compose files say now, beside the first."""
        ...

    def running(self, instance: Instance) -> bool:
        """Whether the container still runs."""
        ...

    def ask(self) -> Answer:
        """One answer of Traefik's API on a fresh connection (either Traefik's, as the kernel
        chooses); PlatformUnavailable if none came."""
        ...

    def terminate(self, instance: Instance) -> None:
        """SIGTERM: Traefik closes its listeners and finishes what it holds."""
        ...

    def end_streams(self) -> int:
        """Send each routed service's streams signal to its replicas; how many replicas got one."""
        ...

    def stop(self, instance: Instance, grace: float) -> None:
        """Stop the container: SIGTERM, then SIGKILL after `grace` seconds."""
        ...

    def remove(self, instance: Instance) -> None:
        """Remove the (exited) container."""
        ...
