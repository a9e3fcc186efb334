"""Carrying an `up` plan out (zerodrop.up.run) with a runner that records: dependency order, the
bound on parallel steps, the first failure stopping the plan, and --atomic rolling back."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from zerodrop.up.plan import CREATE, RECREATE, ROLL, UNCHANGED, Step, UpPlan
from zerodrop.up.run import run_plan


@dataclass
class Recorder:
    """A StepRunner that records what it ran, failing the services in `fail` with their status."""

    fail: dict[str, int] = field(default_factory=dict)
    fail_back: set[str] = field(default_factory=set)
    meet: threading.Barrier | None = None  # steps that must be running at the same time meet here
    events: list[str] = field(default_factory=list)
    running: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, step: Step) -> int:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.events.append(f"begin {step.service}")
        if self.meet is not None and step.service in ("api", "worker"):
            self.meet.wait()  # BrokenBarrierError after its timeout unless both run at once
        with self.lock:
            self.running -= 1
            self.events.append(f"end {step.service}")
        return self.fail.get(step.service, 0)

    def roll_back(self, step: Step) -> int:
        self.events.append(f"back {step.service}")
        return 1 if step.service in self.fail_back else 0

    def stopping(self) -> bool:
        return False


def shop() -> UpPlan:
    """db (unchanged) <- api (roll), worker (recreate) <- web (roll); cache created alongside."""
    steps = (
        Step("db", UNCHANGED, ""),
        Step("cache", CREATE, ""),
        Step("api", ROLL, "", ("db",)),
        Step("worker", RECREATE, "", ("db",)),
        Step("web", ROLL, "", ("api", "worker")),
    )
    return UpPlan(steps, (("cache", "db"), ("api", "worker"), ("web",)))


def test_steps_follow_the_dependency_levels_one_at_a_time_by_default():
    runner = Recorder()
    outcome = run_plan(shop(), runner)
    assert outcome.exit_code == 0 and outcome.done == ["cache", "api", "worker", "web"]
    assert runner.most == 1 and "begin db" not in runner.events, "an unchanged service is not touched"
    assert runner.events.index("end worker") < runner.events.index("begin web")


def test_max_parallel_runs_a_levels_services_side_by_side_and_no_more():
    runner = Recorder(meet=threading.Barrier(2, timeout=10))
    run_plan(shop(), runner, max_parallel=2)
    assert runner.most == 2
    assert max(runner.events.index("end api"), runner.events.index("end worker")) < runner.events.index(
        "begin web"
    )


def test_the_first_failure_stops_the_plan_and_what_is_done_stays():
    runner = Recorder(fail={"worker": 1})
    outcome = run_plan(shop(), runner)
    assert outcome.exit_code == 1 and outcome.failed == {"worker": 1}
    assert outcome.done == ["cache", "api"] and outcome.not_begun == ["web"]
    assert not any(e.startswith("back") for e in runner.events)


def test_a_failure_stops_the_rest_of_its_own_level_too():
    """api fails; worker, in the same level, has not begun (one at a time) and never does."""
    runner = Recorder(fail={"api": 1})
    outcome = run_plan(shop(), runner)
    assert outcome.failed == {"api": 1} and "begin worker" not in runner.events
    assert outcome.not_begun == ["worker", "web"]


def test_atomic_rolls_back_every_rolled_service_last_done_first():
    plan = UpPlan(
        (
            Step("a", ROLL, ""),
            Step("b", ROLL, "", ("a",)),
            Step("w", RECREATE, "", ("a",)),
            Step("c", ROLL, "", ("b",)),
        ),
        (("a",), ("b", "w"), ("c",)),
    )
    runner = Recorder(fail={"c": 130})
    outcome = run_plan(plan, runner, atomic=True)
    assert outcome.exit_code == 130 and outcome.rolled_back == ["b", "a"]
    assert [e for e in runner.events if e.startswith("back")] == ["back b", "back a"]


def test_a_roll_back_that_fails_is_named():
    runner = Recorder(fail={"worker": 1}, fail_back={"api"})
    outcome = run_plan(shop(), runner, atomic=True)
    assert outcome.rolled_back == [] and outcome.not_rolled_back == ["api"]
