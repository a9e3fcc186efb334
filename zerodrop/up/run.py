"""Carrying out an `up` plan: level after level of compose's dependency order, the services of a
level side by side (at most `max_parallel` at once), each through a StepRunner (the rollout for a
routed service, compose's own recreate for the others). The first step that fails stops the
plan: what is done stays done, unless `atomic`, and then every service already rolled is rolled
back, last done first."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from zerodrop.errors import EXIT_OK, ZerodropError
from zerodrop.up.plan import ROLL, Step, UpPlan


class StepRunner(Protocol):
    """What carries out one step; each returns its exit status (0: done)."""

    def run(self, step: Step) -> int:
        """Roll, recreate or create the step's service."""
        ...

    def roll_back(self, step: Step) -> int:
        """Roll a service this plan rolled back to the image it ran before."""
        ...

    def stopping(self) -> bool:
        """Whether an interrupt asked the plan to stop."""
        ...


@dataclass
class UpOutcome:
    """What an `up` did: the services done (in the order they ended) with their seconds, the one
    that failed and its exit status, those never begun, and, `atomic`, those rolled back; the
    orphan containers removed."""

    done: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    not_begun: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    not_rolled_back: list[str] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 if every step is done; else the first failed step's own exit status."""
        return next(iter(self.failed.values()), EXIT_OK)


def _timed(runner: StepRunner, step: Step, say: Callable[[str], None]) -> tuple[Step, int, float]:
    """Run one step: its exit status (a known error's own, else 1) and how long it took."""
    began = time.monotonic()
    try:
        code = runner.run(step)
    except ZerodropError as error:
        say(f"up: {step.service}: {error.line()}")
        code = error.exit_code
    return step, code, time.monotonic() - began


def run_plan(
    plan: UpPlan, runner: StepRunner, *, max_parallel: int = 1, atomic: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> UpOutcome:  # fmt: skip
    """Carry the plan's changes out in dependency order; the outcome. A level's steps already
    begun when one fails run to their end (each undoes itself if it fails); no later one begins."""
    outcome = UpOutcome()
    changing = {s.service for s in plan.changes()}
    width = max(1, max_parallel)
    for level in plan.levels:
        steps = [plan.step(name) for name in level if name in changing]
        for at in range(0, len(steps), width):  # at most `width` at once; none after a failure
            if outcome.failed or runner.stopping():
                break
            _run_side_by_side(steps[at : at + width], runner, outcome, say)
    ended = set(outcome.done) | set(outcome.failed)
    outcome.not_begun = [s.service for s in plan.changes() if s.service not in ended]
    if outcome.failed and atomic:
        _roll_back(plan, runner, outcome, say)
    return outcome


def _run_side_by_side(
    steps: list[Step], runner: StepRunner, outcome: UpOutcome, say: Callable[[str], None]
) -> None:
    """Run these steps at once, each to its end, and record how each ended."""
    with ThreadPoolExecutor(len(steps)) as pool:
        for step, code, seconds in pool.map(lambda s: _timed(runner, s, say), steps):
            if code == EXIT_OK:
                outcome.done.append(step.service)
                outcome.seconds[step.service] = round(seconds, 2)
                say(f"up: {step.service}: {step.action} done in {seconds:.1f}s")
            else:
                outcome.failed[step.service] = code
                say(f"up: {step.service}: {step.action} failed (exit {code}): the plan stops")


def _roll_back(plan: UpPlan, runner: StepRunner, outcome: UpOutcome, say: Callable[[str], None]) -> None:
    """--atomic: every service this plan rolled, back to its image before, last done first."""
    for name in reversed(outcome.done):
        step = plan.step(name)
        if step.action != ROLL:
            continue
        say(f"up: --atomic: rolling {name} back")
        if runner.roll_back(step) == EXIT_OK:
            outcome.rolled_back.append(name)
        else:
            outcome.not_rolled_back.append(name)
