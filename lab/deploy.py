"""A whole rollout as the CLI runs it: resolve and check the target, lock, build, roll, record."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import docker

from lab.config import LabConfig
from lab.history import Release, current_release, previous_release, record_rollout, rollout_lock
from lab.platform import DockerPlatform
from lab.rollout import (
    Roller,
    RolloutInputError,
    RolloutLog,
    RolloutOptions,
    RolloutResult,
    open_log,
    validate_options,
)

PREVIOUS = "PREVIOUS"


def resolve_target(cfg: LabConfig, to: str, env: dict[str, str]) -> Release:
    """The release to roll to: `to` with `env`, or what ran before the last rollout for PREVIOUS."""
    if to != PREVIOUS:
        return Release(to, env)
    previous = previous_release(cfg.state_dir, cfg.project)
    if previous is None:
        raise RolloutInputError(f"no earlier rollout of project {cfg.project!r} to roll back to")
    return Release(previous.version, {**previous.env, **env})


def execute_rollout(
    client: docker.DockerClient,
    cfg: LabConfig,
    options: RolloutOptions,
    log_path: Path | None,
    out: Callable[[str], None] = print,
) -> RolloutResult:
    """Check everything that can be checked without changing anything, then roll under the lock.

    RolloutInputError: nothing changed. RolloutFailed: the old replicas still serve."""
    validate_options(options)
    if not cfg.compose_file.is_file():
        raise RolloutInputError(f"compose file not found: {cfg.compose_file}")
    platform = DockerPlatform(client, cfg)
    with rollout_lock(cfg.state_dir, cfg.project):
        old = platform.replicas()
        if not old:
            raise RolloutInputError(
                f"no running replicas of service {cfg.service!r} in project {cfg.project!r}"
            )
        deployed = current_release(cfg.state_dir, cfg.project)
        before = Release(",".join(sorted({r.version for r in old})), deployed.env if deployed else {})
        if not options.build and not platform.image_exists(options.target):
            raise RolloutInputError(f"image for version {options.target.version!r} does not exist")
        if options.build:
            started = time.monotonic()
            platform.build(options.target)
            out(f"rollout: build          {options.target.version:<24} {time.monotonic() - started:6.1f}s")
        out(
            f"rollout: {len(old)} replica(s) of {cfg.service} {before.version} -> {options.target.version}, "
            f"{options.max_surge} at a time"
        )
        jsonl = open_log(log_path)
        try:
            result = Roller(platform, options, RolloutLog(out=out, jsonl=jsonl)).run()
        finally:
            if jsonl is not None:
                jsonl.close()
        record_rollout(cfg.state_dir, cfg.project, before, options.target)
        return result
