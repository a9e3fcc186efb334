"""A whole rollout as the CLI runs it: resolve and check the target, lock, mend what an earlier
rollout left behind, build, roll, record the outcome, and on failure say what serves now."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from zerodrop.errors import DockerCliError, RolloutInputError, RolloutInterrupted, RolloutStopped
from zerodrop.model import Release
from zerodrop.rollout.deadlines import TimedService, derive_deadlines
from zerodrop.rollout.engine import Interrupt, RolloutEngine, RolloutResult
from zerodrop.rollout.history import (
    LockState,
    current_release,
    previous_release,
    record_rollout,
    rollout_lock,
)
from zerodrop.rollout.phase_log import RolloutLog, open_log
from zerodrop.rollout.plan import (
    DEFAULT_HEALTH_TIMEOUT,
    DEFAULT_ROUTE_TIMEOUT,
    RolloutOptions,
    validate_options,
    with_deadlines,
)
from zerodrop.rollout.platform import RolloutPlatform, ServicePlatform
from zerodrop.rollout.recovery import findings, look, look_for_leftovers, needs_recovery, recover, state_lines
from zerodrop.rollout.replica_waits import Gates
from zerodrop.target import ComposeTarget

PREVIOUS = "PREVIOUS"


def resolve_target(cfg: ComposeTarget, to: str, env: dict[str, str]) -> Release:
    """The release to roll to: `to` with `env`, or what ran before the last rollout for PREVIOUS."""
    if to != PREVIOUS:
        return Release(to, env)
    previous = previous_release(cfg.state_dir, cfg.project)
    if previous is None:
        raise RolloutInputError(f"no earlier rollout of project {cfg.project!r} to roll back to")
    return Release(previous.version, {**previous.env, **env})


def deployed_release(cfg: ComposeTarget, platform: ServicePlatform) -> Release:
    """What should run when no rollout is under way: the last completed rollout's target, else the
    version most running replicas have."""
    deployed = current_release(cfg.state_dir, cfg.project)
    if deployed is not None:
        return deployed
    versions = [r.version for r in platform.replicas()]
    return Release(max(set(versions), key=versions.count) if versions else "v1")


def mend_leftovers(
    cfg: ComposeTarget, platform: ServicePlatform, options: RolloutOptions, log: RolloutLog, lock: LockState
) -> bool:
    """Say what an earlier rollout left behind, one line each, and mend it; whether there was any."""
    view = look_for_leftovers(platform, lock)
    found = findings(view, cfg.replicas, lock)
    for line in found:
        log.note(f"found: {line}")
    if not needs_recovery(view, cfg.replicas, lock):
        return bool(found)
    log.note(f"recovering to {cfg.replicas} ready replica(s) first")
    gates = Gates(platform, options.poll_interval)
    recover(
        platform,
        gates,
        log,
        cfg.replicas,
        deployed_release(cfg, platform),
        health_timeout=options.health_timeout or DEFAULT_HEALTH_TIMEOUT,
        route_timeout=options.route_timeout or DEFAULT_ROUTE_TIMEOUT,
    )
    for line in state_lines(look(platform)):
        log.note(line)
    return True


def resolve_deadlines(platform: TimedService, options: RolloutOptions, log: RolloutLog) -> RolloutOptions:
    """Fill the deadlines the options leave unset from the running service's own timing, and
    print how each was derived and which ones a flag set."""
    deadlines = derive_deadlines(platform.service_timing())
    log.note(deadlines.line())
    for flag, value in (("--timeout", options.health_timeout), ("--route-timeout", options.route_timeout)):
        if value is not None:
            log.note(f"{flag} {value:g}s overrides the derived deadline")
    return with_deadlines(options, deadlines)


def build_target(
    platform: RolloutPlatform, target: Release, log: RolloutLog, interrupt: Interrupt | None
) -> None:
    """Build the target's image; an interrupt ends the build and the rollout (nothing to undo)."""
    started = time.monotonic()
    try:
        platform.build(target)
    except DockerCliError:
        if interrupt is not None and interrupt.signum is not None:
            raise RolloutInterrupted(interrupt.signum) from None
        raise
    log.note(f"build            {target.version:<24} {time.monotonic() - started:6.1f}s")


def execute_rollout(
    platform: RolloutPlatform,
    cfg: ComposeTarget,
    options: RolloutOptions,
    log_path: Path | None,
    out: Callable[[str], None] = print,
    *,
    interrupt: Interrupt | None = None,
) -> RolloutResult:
    """Roll the target's service on `platform`: check everything that can be checked without
    changing anything, then roll under the lock.

    RolloutInputError: nothing changed. RolloutStopped (failed or interrupted): the current batch
    was undone, and the error's `now` says what serves."""
    validate_options(options)
    if not cfg.compose_file.is_file():
        raise RolloutInputError(f"compose file not found: {cfg.compose_file}")
    if interrupt is not None:
        platform.should_stop = lambda: interrupt.signum is not None
    purpose = f"rollout to {options.target.version}"
    with rollout_lock(cfg.state_dir, cfg.project, purpose) as lock:
        old = platform.replicas()
        if not old:
            raise RolloutInputError(
                f"no running replicas of service {cfg.service!r} in project {cfg.project!r}"
            )
        if not options.build and not platform.image_exists(options.target):
            raise RolloutInputError(f"image for version {options.target.version!r} does not exist")
        jsonl = open_log(log_path)
        log = RolloutLog(out=out, jsonl=jsonl)
        try:
            options = resolve_deadlines(platform, options, log)
            mend_leftovers(cfg, platform, options, log, lock)
            deployed = current_release(cfg.state_dir, cfg.project)
            old = platform.replicas()
            before = Release(",".join(sorted({r.version for r in old})), deployed.env if deployed else {})
            if options.build:
                build_target(platform, options.target, log, interrupt)
            log.note(
                f"{len(old)} replica(s) of {cfg.service} {before.version} -> {options.target.version}, "
                f"{options.max_surge} at a time"
            )
            try:
                result = RolloutEngine(platform, options, log, interrupt).run()
            except RolloutStopped as stopped:
                outcome = "interrupted" if isinstance(stopped, RolloutInterrupted) else "failed"
                record_rollout(cfg.state_dir, cfg.project, before, options.target, outcome)
                try:
                    stopped.now = state_lines(look(platform))
                except Exception as error:
                    stopped.now = [f"now: unknown, Docker did not answer ({error})"]
                raise
            except Exception:
                record_rollout(cfg.state_dir, cfg.project, before, options.target, "failed")
                raise
        finally:
            if jsonl is not None:
                jsonl.close()
        record_rollout(cfg.state_dir, cfg.project, before, options.target)
        return result
