"""A whole rollout as the CLI runs it: resolve and check the target, lock, mend what an earlier
rollout left behind, build, roll, record the outcome, and on failure say what serves now."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from zerodrop.errors import DockerCliError, RolloutInputError, RolloutInterrupted, RolloutStopped
from zerodrop.model import Release
from zerodrop.rollout.deadlines import resolve_deadlines
from zerodrop.rollout.engine import RolloutEngine
from zerodrop.rollout.history import current_release, previous_release, remember_rollout
from zerodrop.rollout.leftovers import look, look_for_leftovers, state_lines
from zerodrop.rollout.lock import rollout_lock
from zerodrop.rollout.mend import mend
from zerodrop.rollout.phase_log import RolloutLog, open_log
from zerodrop.rollout.plan import RolloutOptions, validate_options
from zerodrop.rollout.platform import RolloutPlatform
from zerodrop.rollout.result import Interrupt, RolloutResult
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
    events: Callable[..., None] | None = None,
) -> RolloutResult:
    """Roll the target's service on `platform`: check everything that can be checked without
    changing anything, then, under the lock, mend what an earlier rollout left, build, roll and
    remember how it ended.

    RolloutInputError: nothing changed. RolloutStopped (failed or interrupted): the current batch
    was undone, and the error's `now` says what serves."""
    validate_options(options)
    if not cfg.compose_file.is_file():
        raise RolloutInputError(f"compose file not found: {cfg.compose_file}")
    if interrupt is not None:
        platform.should_stop = lambda: interrupt.signum is not None
    purpose, count = f"rollout to {options.target.version}", cfg.replicas
    with rollout_lock(cfg.state_dir, cfg.project, purpose, replicas=count) as lock:
        _refuse_what_cannot_roll(platform, cfg, options)
        jsonl = open_log(log_path)
        log = RolloutLog(out=out, jsonl=jsonl, events=events)
        try:
            timeouts = resolve_deadlines(
                platform, log, health=options.health_timeout, route=options.route_timeout
            )
            if mend(platform, cfg, timeouts, log, lock=lock, view=look_for_leftovers(platform, lock)).acted:
                for line in state_lines(look(platform)):
                    log.note(line)
            deployed = current_release(cfg.state_dir, cfg.project)
            old = platform.replicas()
            before = Release(",".join(sorted({r.version for r in old})), deployed.env if deployed else {})
            if options.build:
                build_target(platform, options.target, log, interrupt)
            log.note(
                f"{len(old)} replica(s) of {cfg.service} {before.version} -> {options.target.version}, "
                f"{options.max_surge} at a time"
            )
            engine = RolloutEngine(platform, options, timeouts, log, interrupt)
            return roll_and_remember(engine, cfg, before)
        finally:
            if jsonl is not None:
                jsonl.close()


def _refuse_what_cannot_roll(platform: RolloutPlatform, cfg: ComposeTarget, options: RolloutOptions) -> None:
    """RolloutInputError (nothing changed) for a service with no running replica, or a target
    image that is not there to roll to."""
    if not platform.replicas():
        raise RolloutInputError(f"no running replicas of service {cfg.service!r} in project {cfg.project!r}")
    if not options.build and not platform.image_exists(options.target):
        raise RolloutInputError(f"image for version {options.target.version!r} does not exist")


def roll_and_remember(engine: RolloutEngine, cfg: ComposeTarget, before: Release) -> RolloutResult:
    """Run the rollout and remember how it ended; when it stopped, say what serves now."""
    target = engine.options.target
    try:
        result = engine.run()
    except RolloutStopped as stopped:
        outcome = "interrupted" if isinstance(stopped, RolloutInterrupted) else "failed"
        remember_rollout(cfg.state_dir, cfg.project, before, target, outcome)
        try:
            stopped.now = state_lines(look(engine.platform))
        except Exception as error:
            stopped.now = [f"now: unknown, Docker did not answer ({error})"]
        raise
    except Exception:
        remember_rollout(cfg.state_dir, cfg.project, before, target, "failed")
        raise
    remember_rollout(
        cfg.state_dir, cfg.project, before, target, "unverified" if result.unverified else "done"
    )
    return result
