"""Which image a rollout rolls to, and getting it onto the engine. The image is `--image`, else the
one `docker compose config` resolves for the service (so `TAG=v2 zerodrop rollout web` leaves the
compose files and the replicas agreeing). Pulling follows `--pull`, spelled as compose spells
it, else the service's own `pull_policy`, else `missing`."""

from __future__ import annotations

import os
from dataclasses import dataclass

import docker

from zerodrop.adapters import docker_sdk
from zerodrop.adapters.compose_service import ServiceSpec
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.errors import DockerCliError, RolloutInputError, first_line

PULL_POLICIES = ("always", "missing", "never")
DEFAULT_PULL_TIMEOUT = 300.0  # seconds one pull may take: a large image on a slow link, not a hang
# compose's pull_policy values, as zerodrop honours them: a service built by compose is pulled
# never (its image is the build's); daily, weekly and every_<duration> need a clock of past
# pulls zerodrop does not keep, so they count as missing.
COMPOSE_POLICIES = {"always": "always", "never": "never", "build": "never", "if_not_present": "missing"}


@dataclass(frozen=True)
class ImageChoice:
    """The image to roll to, where that came from, and how it gets onto the engine."""

    image: str
    source: str  # "--image" or "the compose files"
    pull: str  # always, missing or never
    pull_timeout: float = DEFAULT_PULL_TIMEOUT

    def line(self) -> str:
        """'image X (from the compose files), pull missing'."""
        return f"image {self.image} (from {self.source}), pull {self.pull}"


def choose_image(
    flag: str | None, spec: ServiceSpec, pull: str | None, pull_timeout: float, source: str = "--image"
) -> ImageChoice:
    """The image given (`flag`, from `source`), else the service's image in the merged
    configuration; RolloutInputError (nothing changed) for a service that names none."""
    if flag:
        image = flag
    elif spec.image:
        image, source = spec.image, "the compose files"
    else:
        raise RolloutInputError(
            f"service {spec.name!r} names no image in the compose files: give --image IMAGE"
        )
    policy = pull or COMPOSE_POLICIES.get(spec.pull_policy or "", "missing")
    return ImageChoice(image, source, policy, pull_timeout)


def fetch_image(client: docker.DockerClient, choice: ImageChoice, *, dry_run: bool) -> str:
    """Get the image onto the engine as its pull policy says (a dry run fetches nothing); what
    was found or done, in a few words. RolloutInputError (nothing changed) if it cannot be had,
    with the engine's own reason for a failed pull."""
    present = docker_sdk.image_exists(client, choice.image)
    wanted = choice.pull == "always" or (choice.pull == "missing" and not present)
    if choice.pull == "never" and not present:
        raise RolloutInputError(f"image {choice.image}: not on this engine, and the pull policy is never")
    if not wanted:
        return "present on this engine"
    if dry_run:
        return f"{'present' if present else 'not'} on this engine: a rollout would pull it first"
    try:  # one bounded attempt: a host with no registry must not hang here
        run_docker(
            "pull", "--quiet", choice.image, env=dict(os.environ), timeout=choice.pull_timeout,
            name=f"pull {choice.image}",
        )  # fmt: skip
    except DockerCliError as error:
        said = (error.output.strip().splitlines() or [first_line(error)])[-1]
        state = "on this engine, but" if present else "not on this engine, and"
        raise RolloutInputError(f"image {choice.image}: {state} the pull failed: {said}") from None
    return "pulled"
