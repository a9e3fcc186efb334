"""The steps of `zerodrop up` on the real parts: a routed service rolled exactly as `zerodrop rollout
SERVICE` rolls it (confirmed in Traefik, drained, in-flight work waited for, undone on failure),
any other changed service recreated by compose's own `up -d --no-deps --wait`. Everything a step
needs is resolved before the first one begins (`prepare`), so bad input changes nothing."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests
from docker.errors import DockerException

from zerodrop.adapters import compose
from zerodrop.adapters.docker_sdk import connect, remove_with_grace
from zerodrop.adapters.traefik_reads import SharedReads
from zerodrop.cli.arguments import schedule_options
from zerodrop.cli.image_source import ImageChoice, choose_image, fetch_image
from zerodrop.cli.output import Output
from zerodrop.cli.proxy_target import Prepared
from zerodrop.cli.proxy_target import prepare as prepare_proxy
from zerodrop.cli.rollout_command import recover_command
from zerodrop.cli.service_target import ServiceTarget, find_service, held_on_the_engine
from zerodrop.cli.stopped_report import report_stopped
from zerodrop.errors import EXIT_FAILED, EXIT_OK, ComposeError, HandoverStopped, RolloutStopped, first_line
from zerodrop.measure.report import summary_table
from zerodrop.model import Release
from zerodrop.proxy.handover import hand_over
from zerodrop.rollout.deadlines import DEFAULT_HEALTH_TIMEOUT
from zerodrop.rollout.execute import execute_rollout
from zerodrop.rollout.plan import RolloutOptions, validate_options
from zerodrop.rollout.result import Interrupt
from zerodrop.target import ComposeTarget
from zerodrop.up.plan import PROXY_ROLL, ROLL, Step, UpPlan

PROXY_ROUTES_TIMEOUT = 60.0  # as `zerodrop rollout-proxy --timeout`'s default


@dataclass
class Rollable:
    """A service to roll, resolved before anything changes: its target, image, and what ran."""

    found: ServiceTarget
    choice: ImageChoice
    before: str  # the image its replicas ran before: what --atomic rolls it back to


@dataclass
class RealSteps:
    """The StepRunner of `zerodrop up` (zerodrop.up.run) on Docker, compose and Traefik."""

    args: argparse.Namespace
    project: ComposeTarget
    out: Output
    interrupt: Interrupt
    rollable: dict[str, Rollable] = field(default_factory=dict)
    shared: dict[str, SharedReads] = field(default_factory=dict)  # by API URL: one read for all rollouts
    proxies: dict[str, Prepared] = field(default_factory=dict)  # the Traefik service, checked

    def service_args(self, service: str) -> argparse.Namespace:
        """The flags `zerodrop rollout SERVICE` would have been given for one service of the plan."""
        return argparse.Namespace(
            **{**vars(self.args), "service": service, "image": None, "drain": None, "dry_run": False,
               "max_surge": 1, "max_draining": None, "overlap": True, "log": None},
        )  # fmt: skip

    def prepare(self, plan: UpPlan, *, dry_run: bool) -> list[str]:
        """Resolve every service to roll (its route, contract, image; a dry run fetches nothing):
        RolloutInputError before anything changes. What each found, as lines."""
        lines: list[str] = []
        for step in plan.steps:
            if step.action == PROXY_ROLL:
                proxy_args = argparse.Namespace(
                    **{**vars(self.args), "service": step.service, "image": None, "traefik_api": None,
                       "timeout": PROXY_ROUTES_TIMEOUT},
                )  # fmt: skip
                self.proxies[step.service] = prepare_proxy(proxy_args)
                lines += [f"{step.service}: {line}" for line in self.proxies[step.service].lines]
            if step.action != ROLL:
                continue
            args = self.service_args(step.service)
            found = find_service(args)
            api_url = found.target.api_url
            found.platform.shared = self.shared.setdefault(api_url, SharedReads(api_url))
            choice = choose_image(None, found.spec, args.pull, args.pull_timeout)
            fetched = fetch_image(found.platform.client, choice, dry_run=dry_run)
            before = ",".join(sorted({r.version for r in found.platform.replicas()})) or choice.image
            self.rollable[step.service] = Rollable(found, choice, before)
            lines.append(f"{step.service}: {choice.line()}: {fetched}; {found.route.line()}")
        return lines

    def stopping(self) -> bool:
        """Whether an interrupt asked `up` to stop."""
        return self.interrupt.signum is not None

    def run(self, step: Step) -> int:
        """Roll a routed service to the image compose resolves, else let compose recreate it."""
        if step.action == ROLL:
            return self._roll(step.service, self.rollable[step.service].choice.image)
        if step.action == PROXY_ROLL:
            return self._replace_proxy(step.service)
        timeout = self.args.timeout or DEFAULT_HEALTH_TIMEOUT
        self.out.say(f"up: {step.service}: docker compose up -d --no-deps --wait {step.service}")
        try:
            compose.recreate(self.project, step.service, timeout=timeout, should_stop=self.stopping)
        except ComposeError as error:
            said = "; ".join(line.strip() for line in error.output.splitlines() if line.strip())
            self.out.say(f"up: {step.service}: compose failed: {said or first_line(error)}")
            return EXIT_FAILED
        return EXIT_OK

    def remove_orphans(self, names: Sequence[str]) -> list[str]:
        """Stop (with each one's own grace) and remove these containers; those removed."""
        removed: list[str] = []
        client = connect()
        for name in names:
            self.out.say(f"up: orphan {name}: stopping with its grace, then removing it")
            try:
                container = client.containers.get(name)
                remove_with_grace(client, container)
            except (DockerException, requests.RequestException) as error:
                self.out.say(f"up: orphan {name}: not removed: {first_line(error)}")
                continue
            removed.append(name)
        return removed

    def _replace_proxy(self, service: str) -> int:
        """`zerodrop rollout-proxy SERVICE`, as checked in `prepare`; its exit status."""
        ready = self.proxies[service]
        try:
            say = lambda line: self.out.say(f"up: {service}: {line}")  # noqa: E731
            result = hand_over(ready.platform, ready.options, say, self.interrupt)
        except HandoverStopped as stopped:
            self.out.say(f"up: {service}: {stopped}")
            return stopped.exit_code
        return result.exit_code

    def roll_back(self, step: Step) -> int:
        """Roll a service this `up` rolled back to the image it ran before."""
        before = self.rollable[step.service].before
        if "," in before:
            self.out.say(f"up: {step.service} ran several images before ({before}): not rolled back")
            return EXIT_FAILED
        return self._roll(step.service, before)

    def _roll(self, service: str, image: str) -> int:
        """One rollout of one service, as `zerodrop rollout` runs it; its exit status."""
        rollable = self.rollable[service]
        found, args = rollable.found, self.service_args(service)
        options = RolloutOptions(
            Release(image), **schedule_options(args), build=False, image_reference=True,
            recover_command=recover_command(args),
        )  # fmt: skip
        validate_options(options)
        log_path = found.target.state_dir / f"rollout-{found.target.project}-{service}.jsonl"
        self.out.say(f"up: {service}: rollout to {image}; drain contract: {found.contract.line()}")
        try:
            with held_on_the_engine(found, f"up: rollout to {image}"):
                result = execute_rollout(
                    found.platform, found.target, options, log_path,
                    lambda line: self.out.say(f"{service}: {line}"), interrupt=self.interrupt,
                    events=self.out.emit if self.out.json else None,
                )  # fmt: skip
        except RolloutStopped as stopped:
            if not self.out.json:
                return report_stopped(stopped, f"up: {service}")
            self.out.emit("stopped", service=service, reason=str(stopped), undone=stopped.undone,
                          left_behind=list(stopped.left_behind), now=list(stopped.now))  # fmt: skip
            return stopped.exit_code
        if not self.out.json:
            self.out.say(summary_table(result))
        return result.exit_code
