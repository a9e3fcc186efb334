"""What `zerodrop up` would do to each service of a compose project, decided as `docker compose up
-d` decides it (a service changes when its containers' config hash is not the one compose computes
for it now), and how each changed service changes: rolled, recreated by compose, or refused.

Pure: it reads compose's merged configuration and the hashes, and asks nothing of Docker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zerodrop.adapters.compose_file import command, is_traefik
from zerodrop.adapters.compose_service import read_service, refusals
from zerodrop.adapters.traefik_routes import routed_by_traefik
from zerodrop.errors import RolloutInputError
from zerodrop.lint.traefik_static import static_of
from zerodrop.proxy.traefik_flags import flags_of, reuseport_problems
from zerodrop.rollout.contract import DRAIN_LABEL

UNCHANGED = "unchanged"  # every running container has the hash compose computes now
CREATE = "create"  # no container yet: compose creates it (nothing serves it, nothing to drop)
RECREATE = "recreate"  # changed, not routed by Traefik: compose's own recreate is right
ROLL = "roll"  # changed, routed, rollable: zerodrop's rollout, confirmed in Traefik
REFUSE = "refuse"  # changed, and recreating it would cut what it serves or holds
PROXY = "needs the proxy rollout"  # the Traefik service itself changed and cannot be replaced beside itself
PROXY_ROLL = "proxy rollout"  # the Traefik service changed, anchored with reusePort: zerodrop rollout-proxy
ACTIONS = (UNCHANGED, CREATE, RECREATE, ROLL, REFUSE, PROXY, PROXY_ROLL)


@dataclass(frozen=True)
class Step:
    """One service in the plan: what happens to it, why, and what it waits for."""

    service: str
    action: str
    reason: str
    depends_on: tuple[str, ...] = ()
    healthy_first: tuple[str, ...] = ()  # depends_on with condition: service_healthy
    outage: str = ""  # a recreate the user accepted with --recreate-unrollable: what it cuts

    def line(self) -> str:
        """'web: roll (routed by Traefik, drain signal:SIGUSR1), after api'."""
        after = f", after {', '.join(self.depends_on)}" if self.depends_on else ""
        outage = f"; OUTAGE: {self.outage}" if self.outage else ""
        return f"{self.service}: {self.action} ({self.reason}){after}{outage}"


@dataclass(frozen=True)
class UpPlan:
    """Every service of the project (or those named), in compose's dependency order."""

    steps: tuple[Step, ...]
    levels: tuple[tuple[str, ...], ...] = field(default=())  # services that may change side by side
    orphans: tuple[str, ...] = ()  # containers of services the compose files no longer have

    def blocked(self) -> list[Step]:
        """The steps `up` will not carry out: refused services and a changed proxy."""
        return [s for s in self.steps if s.action in (REFUSE, PROXY)]

    def changes(self) -> list[Step]:
        """The steps that change something."""
        return [s for s in self.steps if s.action in (CREATE, RECREATE, ROLL, PROXY_ROLL)]

    def step(self, service: str) -> Step:
        """The step of one service."""
        return next(s for s in self.steps if s.service == service)


def change_of(config_hash: str, running_hashes: Sequence[str]) -> str:
    """What compose would do to a service: create (no container), unchanged (every container has
    the hash), or recreate."""
    if not running_hashes:
        return CREATE
    return UNCHANGED if all(h == config_hash for h in running_hashes) else RECREATE


def _dependencies(data: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A service's depends_on, and those of them it waits to be healthy (list or mapping form)."""
    raw = data.get("depends_on") or {}
    if isinstance(raw, list):
        return tuple(str(n) for n in raw), ()
    healthy = tuple(
        str(n) for n, v in raw.items() if isinstance(v, Mapping) and v.get("condition") == "service_healthy"
    )
    return tuple(str(n) for n in raw), healthy


def named_volumes(data: Mapping[str, Any]) -> list[str]:
    """The named volumes a service mounts (not bind mounts, not anonymous volumes)."""
    found: list[str] = []
    for volume in data.get("volumes") or []:
        if isinstance(volume, Mapping):
            if volume.get("type", "volume") == "volume" and volume.get("source"):
                found.append(str(volume["source"]))
        else:
            source = str(volume).split(":", 1)[0]
            if ":" in str(volume) and source and not source.startswith((".", "/", "~")):
                found.append(source)
    return found


def _changed(
    name: str,
    data: Mapping[str, Any],
    config: Mapping[str, Any],
    running: int,
    *,
    exposed: bool,
    forced: bool,
) -> tuple[str, str, str]:
    """How a changed service changes: (action, reason, outage accepted with `forced`)."""
    spec = read_service(config, name)
    if is_traefik(dict(data)):
        return _proxy_change(data)
    volumes = named_volumes(data)
    single = (spec.replicas or 1) == 1 and running <= 1
    if not routed_by_traefik(spec.labels, exposed):
        if single and volumes:
            why = f"one replica owning named volume(s) {', '.join(volumes)}: recreating it stops it"
            return (RECREATE, why, "stopped while compose recreates it") if forced else (REFUSE, why, "")
        return RECREATE, "not routed by Traefik: compose's own recreate", ""
    problems = refusals(spec)
    if DRAIN_LABEL not in spec.labels:
        problems.append(f"no drain contract (the {DRAIN_LABEL} label)")
    if single and volumes:
        problems.append(f"one replica owning named volume(s) {', '.join(volumes)}")
    if not problems:
        return ROLL, f"routed by Traefik, drain {spec.labels[DRAIN_LABEL]}", ""
    why = "routed but not rollable: " + "; ".join(problems)
    return (
        (RECREATE, why, "every request to it fails while compose recreates it")
        if forced
        else (REFUSE, why, "")
    )


def _proxy_change(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """How a changed Traefik service changes: replaced beside itself when it runs in another
    service's network namespace with reusePort on every entrypoint, else not by `up`."""
    mode = str(data.get("network_mode") or "")
    problems = reuseport_problems(flags_of(command(dict(data))))
    if mode.startswith(("service:", "container:")) and not problems:
        return PROXY_ROLL, f"the Traefik service, in {mode.split(':', 1)[1]}'s namespace with reusePort", ""
    why = problems[0] if problems else "its own network namespace (docs/proxy-rollout.md)"
    return PROXY, f"the Traefik service itself, which cannot be replaced beside itself: {why}", ""


def dependency_levels(deps: Mapping[str, Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """The services in compose's start order, grouped: each group depends only on the groups
    before it (a dependency outside `deps` is taken as done). RolloutInputError on a cycle."""
    left = {name: {d for d in wants if d in deps} for name, wants in deps.items()}
    levels: list[tuple[str, ...]] = []
    while left:
        ready = sorted(name for name, wants in left.items() if not wants)
        if not ready:
            raise RolloutInputError(f"depends_on has a cycle among: {', '.join(sorted(left))}")
        levels.append(tuple(ready))
        left = {name: wants - set(ready) for name, wants in left.items() if name not in ready}
    return tuple(levels)


REFERENCE_KEYS = ("network_mode", "ipc", "pid")  # where compose takes `service:NAME`


def service_references(config: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Each service's `service:NAME` references (network_mode, ipc, pid), by key: compose replaces
    each by `container:ID` of NAME's running container before it hashes the service, so the
    hash `config --hash` gives for such a service is never the one on its containers."""
    services: Mapping[str, Any] = config.get("services") or {}
    found: dict[str, dict[str, str]] = {}
    for name, data in services.items():
        for key in REFERENCE_KEYS:
            value = str(data.get(key) or "")
            if value.startswith("service:"):
                found.setdefault(name, {})[key] = value.split(":", 1)[1]
    return found


def check_named(config: Mapping[str, Any], only: Sequence[str]) -> None:
    """RolloutInputError for a service named that the project does not have."""
    services: Mapping[str, Any] = config.get("services") or {}
    unknown = [name for name in only if name not in services]
    if unknown:
        raise RolloutInputError(
            f"the compose project has no service {', '.join(map(repr, unknown))} "
            f"(it has: {', '.join(sorted(services))})"
        )


def plan_up(
    config: Mapping[str, Any],
    config_hashes: Mapping[str, str],
    running_hashes: Mapping[str, Sequence[str]],
    *,
    only: Sequence[str] = (),
    recreate_unrollable: bool = False,
    orphans: Sequence[str] = (),
) -> UpPlan:
    """The plan for compose's merged configuration: each service's change (its config hash beside
    its running containers') and action, in dependency order. `only`: those services alone
    (RolloutInputError for one the project does not have). `orphans`: the project's containers
    of services no longer in the files, carried as found."""
    services: Mapping[str, Any] = config.get("services") or {}
    check_named(config, only)
    exposed = static_of(dict(services)).exposed_by_default
    steps: dict[str, Step] = {}
    for name in only or sorted(services):
        data = services[name]
        depends_on, healthy = _dependencies(data)
        hashes = running_hashes.get(name, ())
        change = change_of(config_hashes.get(name, ""), hashes)
        if change == UNCHANGED:
            action, reason, outage = UNCHANGED, "its containers have compose's config hash", ""
        elif change == CREATE:
            action, reason, outage = CREATE, "no container yet: compose creates it", ""
        else:
            action, reason, outage = _changed(
                name, data, config, len(hashes), exposed=exposed, forced=recreate_unrollable
            )
        steps[name] = Step(name, action, reason, depends_on, healthy, outage)
    levels = dependency_levels({name: step.depends_on for name, step in steps.items()})
    ordered = tuple(steps[name] for level in levels for name in level)
    return UpPlan(ordered, levels, tuple(sorted(orphans)))
