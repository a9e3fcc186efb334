"""What a rollout is asked to do, checked before anything changes: the target and its options,
their validation, and the order in which old replicas are replaced (batches)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from zerodrop.errors import RolloutInputError
from zerodrop.model import Release, Replica
from zerodrop.rollout.deadlines import check_timeouts

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# An image reference as Docker writes one: [registry[:port]/]name[/name...][:tag][@sha256:digest].
IMAGE_PATTERN = re.compile(
    r"^(?:[a-z0-9][a-z0-9.-]*(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
ENV_KEY_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DEFAULT_MAX_SURGE = 1


@dataclass(frozen=True)
class RolloutOptions:
    """How to roll: to which release, how many at a time, and how long to wait for what."""

    target: Release
    max_surge: int = DEFAULT_MAX_SURGE
    # None: derived from the service's healthcheck, grace and Traefik's throttle (zerodrop.rollout.deadlines)
    health_timeout: float | None = None
    route_timeout: float | None = None
    poll_interval: float = 0.25
    build: bool = True
    # Old replicas out of rotation but still finishing requests, at most (None: as many as the
    # service has replicas). They do not count toward max_surge, but they do use memory.
    max_draining: int | None = None
    # True: the next batch starts as soon as this batch's new replicas are routed, while its old
    # ones are still leaving Traefik's rotation (they serve on as lame ducks meanwhile). False:
    # it waits until Traefik has dropped them (the schedule before overlap, for comparison).
    overlap: bool = True
    # The target's version is a whole image reference (`zerodrop rollout --image`), not a tag.
    image_reference: bool = False
    # What a user runs to mend what a failed undo left (the lab's command, or zerodrop's).
    recover_command: str = "python -m lab recover"


def validate_options(options: RolloutOptions) -> None:
    """RolloutInputError for a version, batch size, timeout or variable the rollout cannot use."""
    if options.image_reference:
        if not IMAGE_PATTERN.match(options.target.version) or len(options.target.version) > 255:
            raise RolloutInputError(f"--image {options.target.version!r} is not an image reference")
    elif not VERSION_PATTERN.match(options.target.version):
        raise RolloutInputError(f"version {options.target.version!r} is not a valid image tag")
    if options.max_surge < 1:
        raise RolloutInputError(f"--max-surge must be at least 1, not {options.max_surge}")
    if options.max_draining is not None and options.max_draining < options.max_surge:
        raise RolloutInputError(
            f"--max-draining must be at least --max-surge ({options.max_surge}), not {options.max_draining}"
        )
    check_timeouts(options.health_timeout, options.route_timeout)
    for key in options.target.env:
        if not ENV_KEY_PATTERN.match(key):
            raise RolloutInputError(f"--set {key}=...: variable names are upper-case letters, digits, _")


def check_variables(env: dict[str, str], settable: set[str], elsewhere: set[str]) -> None:
    """RolloutInputError unless every `--set` variable is one the service's environment alone
    reads: nothing may change routing labels, ports, the image or compose itself."""
    for key in sorted(env):
        if key.startswith(("COMPOSE_", "DOCKER_")):
            raise RolloutInputError(f"--set {key}: changes compose or Docker itself, not the service")
        if key in elsewhere:
            raise RolloutInputError(
                f"--set {key}: the compose file reads it outside the service's environment "
                "(routing labels, ports, image or Traefik), which a rollout must not change"
            )
        if key not in settable:
            allowed = ", ".join(sorted(settable)) or "none"
            raise RolloutInputError(
                f"--set {key}: the service's environment does not use it (it reads: {allowed})"
            )


def plan_batches(old: list[Replica], max_surge: int) -> list[list[Replica]]:
    """The old replicas in replacement order (oldest first), `max_surge` at a time."""
    ordered = sorted(old, key=lambda r: r.number)
    return [ordered[i : i + max_surge] for i in range(0, len(ordered), max_surge)]


@dataclass
class Batch:
    """One batch in progress: the old replicas it replaces and how far it got."""

    old: list[Replica]
    new: list[Replica] = field(default_factory=list)
    drained: list[Replica] = field(default_factory=list)
    routed: list[Replica] = field(default_factory=list)  # new replicas Traefik listed: they served
