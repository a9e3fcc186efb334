"""Every lab setting in one place: environment first, then the project's `.env`, then defaults.

Compose reads the same `.env`, so the lab and the stack always agree on ports and names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from zerodrop.adapters.compose_file import read_env_file
from zerodrop.errors import ConfigError
from zerodrop.target import ComposeTarget

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> (default, meaning); the README's variables table mirrors this.
DEFAULTS: dict[str, tuple[str, str]] = {
    "LAB_PROJECT": ("zerodrop", "compose project name of the lab"),
    "LAB_COMPOSE_FILE": ("docker-compose.yml", "compose file(s), relative to the repo root, `:` between"),
    "LAB_SERVICE": ("app", "the service that is routed, rolled and probed"),
    "LAB_HTTP_PORT": ("8088", "Traefik's web entrypoint on 127.0.0.1"),
    "LAB_API_PORT": ("8080", "Traefik's API and dashboard on 127.0.0.1"),
    "APP_HOST": ("app.docker.localhost", "Host header the app's router matches"),
    "APP_REPLICAS": ("2", "replicas of the app"),
    "APP_IMAGE": ("zerodrop/app", "the app image's repository name (`<APP_IMAGE>:<version>`)"),
    "LAB_UP_TIMEOUT": ("300", "seconds `lab up` waits for every replica to be routed"),
    "LAB_STATE_DIR": (".lab-state", "rollout history and locks, relative to the repo root"),
    "LAB_OUT_DIR": ("out", "probe reports, rollout logs and plots, relative to the repo root"),
    # The Swarm lab (`make swarm-up`, docker-stack.yml); APP_HOST, APP_REPLICAS, APP_IMAGE are shared.
    "SWARM_STACK": ("zdswarm", "stack name of the Swarm lab"),
    "SWARM_STACK_FILE": ("docker-stack.yml", "the Swarm stack file, relative to the repo root"),
    "SWARM_HTTP_PORT": ("8098", "Traefik's web entrypoint in the Swarm lab (host mode: every interface)"),
    "SWARM_API_PORT": ("8099", "Traefik's API in the Swarm lab (host mode: every interface)"),
    "SWARM_REFRESH_SECONDS": ("15", "how often Traefik's swarm provider polls Swarm (Traefik's default 15)"),
    "SWARM_DRAIN_SECONDS": (
        "auto",
        "lame duck after SIGTERM; auto: refresh + 0.5 s throttle + 3 s, rounded up",
    ),
    "SWARM_STOP_GRACE_PERIOD": ("auto", "Swarm's stop grace; auto: lame duck + 20 s requests + 6 s"),
    "SWARM_ADVERTISE_ADDR": ("auto", "`docker swarm init --advertise-addr`; auto: the default route's IPv4"),
    # The three-node Swarm (`make cluster-up`): Engine-26 nodes in containers, on 127.0.0.1 only.
    "CLUSTER_NAME": ("zdcluster", "prefix of the cluster's node containers, network and stack"),
    "CLUSTER_NODE_IMAGE": (
        "zerodrop/swarm-node:26.1",
        "the node image (scripts/build-cluster-node-image.sh)",
    ),
    "CLUSTER_HTTP_PORT": ("8108", "the cluster's Traefik entrypoint on 127.0.0.1"),
    "CLUSTER_API_PORT": ("8109", "the cluster's Traefik API on 127.0.0.1"),
    "CLUSTER_DOCKER_PORT": (
        "8107",
        "the manager node's Docker API on 127.0.0.1 (unencrypted: loopback only)",
    ),
    "CLUSTER_REFRESH_SECONDS": ("2", "the cluster's Traefik swarm-provider poll"),
}


@dataclass(frozen=True)
class LabTarget(ComposeTarget):
    """The lab's compose project: the target, with the variables its compose file reads."""

    def compose_env(self) -> dict[str, str]:
        """Variables the lab's compose file reads, so compose and the lab agree."""
        return {
            "COMPOSE_PROJECT_NAME": self.project,
            "LAB_HTTP_PORT": str(self.http_port),
            "LAB_API_PORT": str(self.api_port),
            "APP_HOST": self.app_host,
            "APP_REPLICAS": str(self.replicas),
            "APP_IMAGE": self.app_image,
            **self.variables,
        }


def whole_number(name: str, raw: str, minimum: int, maximum: int | None = None) -> int:
    """The setting `name` as a whole number from `minimum` to `maximum`; ConfigError otherwise."""
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name}={value} must be at least {minimum}{upper}")
    return value


MAX_PORT = 65535
# compose's own rule for project names; it also keeps the state files inside LAB_STATE_DIR.
PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# A host name for Traefik's Host() rule: letters, digits, dots and dashes (a backtick would end
# the rule's string and break the router).
HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def port_number(name: str, raw: str) -> int:
    """The setting `name` as a TCP port number; ConfigError otherwise."""
    return whole_number(name, raw, 1, MAX_PORT)


def matching(name: str, raw: str, pattern: re.Pattern[str], what: str) -> str:
    """The setting `name` if it matches `pattern` (`what` it should be); ConfigError otherwise."""
    if not pattern.match(raw):
        raise ConfigError(f"{name}={raw!r} is not {what}")
    return raw


def setting_reader(environ: Mapping[str, str] | None, root: Path) -> Callable[[str], str]:
    """How a setting is read: the environment, else the repo's `.env`, else DEFAULTS (or "" for a
    variable DEFAULTS does not list, such as TRAEFIK_IMAGE)."""
    environ = dict(os.environ if environ is None else environ)
    from_file = read_env_file(root / ".env")

    def get(name: str) -> str:
        return environ.get(name) or from_file.get(name) or DEFAULTS.get(name, ("", ""))[0]

    return get


def load_config(environ: dict[str, str] | None = None, root: Path = REPO_ROOT) -> LabTarget:
    """The lab's settings from the environment, the repo's `.env`, and the defaults above."""
    get = setting_reader(environ, root)

    return LabTarget(
        project=matching(
            "LAB_PROJECT", get("LAB_PROJECT"), PROJECT_NAME, "a compose project name (a-z, 0-9, _, -)"
        ),
        compose_files=tuple(root / name for name in get("LAB_COMPOSE_FILE").split(":") if name),
        service=get("LAB_SERVICE"),
        http_port=port_number("LAB_HTTP_PORT", get("LAB_HTTP_PORT")),
        api_port=port_number("LAB_API_PORT", get("LAB_API_PORT")),
        app_host=matching("APP_HOST", get("APP_HOST"), HOST_NAME, "a host name (letters, digits, . and -)"),
        replicas=whole_number("APP_REPLICAS", get("APP_REPLICAS"), 1),
        app_image=get("APP_IMAGE"),
        up_timeout=float(whole_number("LAB_UP_TIMEOUT", get("LAB_UP_TIMEOUT"), 1)),
        state_dir=root / get("LAB_STATE_DIR"),
        out_dir=root / get("LAB_OUT_DIR"),
    )


def lab_environment(cfg: ComposeTarget) -> dict[str, str]:
    """Variables that point another `python -m lab` process at this stack (its project, ports,
    replica count, state and output folders, and its compose variables but APP_VERSION,
    which the lab takes from the rollout history)."""
    return {
        "LAB_PROJECT": cfg.project,
        "LAB_HTTP_PORT": str(cfg.http_port),
        "LAB_API_PORT": str(cfg.api_port),
        "APP_REPLICAS": str(cfg.replicas),
        "APP_HOST": cfg.app_host,
        "LAB_STATE_DIR": str(cfg.state_dir),
        "LAB_OUT_DIR": str(cfg.out_dir),
        **{k: v for k, v in cfg.variables.items() if k != "APP_VERSION"},
    }
