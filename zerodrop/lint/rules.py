"""Pre-flight check of a compose project for the traps the workshop teaches.

Each rule is one function that looks at one routed service (`traefik.enable=true`) and returns
what is wrong, or None; each carries the workshop page that reproduces its trap. Runs without
Docker: zerodrop.adapters.compose_file reads the file the way compose does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zerodrop.adapters.compose_file import (
    interpolate,
    setting,
)
from zerodrop.adapters.compose_service import published_ports_of
from zerodrop.adapters.service_program import shell_form_cmd
from zerodrop.durations import parse_duration
from zerodrop.errors import LintInputError
from zerodrop.lint.service import Service, healthcheck_off
from zerodrop.rollout.deadlines import SLOW_ROLLOUT_SECONDS

__all__ = [
    "RULES",
    "Finding",
    "LintInputError",
    "Rule",
    "interpolate",
    "parse_duration",
]

PAGE = "docs/workshop/{}.md"


Check = Callable[[Service], str | None]


@dataclass(frozen=True)
class Rule:
    """One trap: its code, the workshop page that reproduces it, and its check."""

    code: str
    page: str
    check: Check
    warning: bool = False  # a warning is printed but does not fail `lab lint`


@dataclass(frozen=True)
class Finding:
    """One trap found in one service."""

    code: str
    service: str
    message: str
    page: str
    warning: bool = False

    def line(self) -> str:
        """'service app: <message> [code] (see docs/workshop/NN-....md)', 'warning: ' first for a
        warning; the code is what `--ignore` and the zerodrop.lint-ignore label take."""
        head = f"{'warning: ' * self.warning}service {self.service}"
        return f"{head}: {self.message} [{self.code}] (see {self.page})"


RULES: list[Rule] = []


def when(condition: object, message: str) -> str | None:
    """The message if the condition holds (a rule's finding), else None."""
    return message if condition else None


def rule(
    code: str, page: str, *, warning: bool = False, into: list[Rule] = RULES
) -> Callable[[Check], Check]:
    """Register a check as a rule with its code and docs page (a workshop page's file name without
    .md, or a path under docs/ with its anchor)."""

    def register(check: Check) -> Check:
        into.append(Rule(code, page if page.startswith("docs/") else PAGE.format(page), check, warning))
        return check

    return register


@rule("grace-request", "05-stop-timeout-shorter-than-the-request")
def grace_shorter_than_request(s: Service) -> str | None:
    """docker stop would kill requests still in flight."""
    longest = s.longest or 0.0
    message = f"stop grace period {s.grace:g}s is not longer than the longest request {longest:g}s"
    return when(
        s.longest and s.grace <= longest + s.drain,
        f"{message} + drain {s.drain:g}s: docker stop kills requests in flight",
    )


@rule("grace-shutdown-work", "06-shutdown-work-longer-than-grace")
def grace_shorter_than_shutdown_work(s: Service) -> str | None:
    """SIGKILL would land before the shutdown work is done (only if requests fit the grace)."""
    requests_fit = s.longest and s.longest + s.drain < s.grace
    needed = f"request {s.longest or 0:g}s + drain {s.drain:g}s + shutdown work {s.work:g}s"
    too_short = (
        f"stop grace period {s.grace:g}s is not longer than {needed}: SIGKILL lands before the work is done"
    )
    return when(requests_fit and s.grace <= (s.longest or 0) + s.drain + s.work, too_short)


@rule("graceful-timeout", "05-stop-timeout-shorter-than-the-request")
def graceful_timeout_not_below_grace(s: Service) -> str | None:
    """uvicorn's graceful timeout must end before Docker's SIGKILL."""
    graceful = setting(s.args, "--timeout-graceful-shutdown", s.env, "GRACEFUL_TIMEOUT")
    late = graceful is not None and graceful + s.drain >= s.grace
    timeout = f"uvicorn's graceful timeout {graceful or 0:g}s (+ drain {s.drain:g}s)"
    why = "SIGKILL comes before uvicorn gives up cleanly"
    return when(late, f"{timeout} is not below the stop grace period {s.grace:g}s: {why}")


@rule("keepalive", "keep-alive-race")
def proxy_idle_not_below_keepalive(s: Service) -> str | None:
    """The proxy must close idle connections before the app does."""
    keepalive = s.keepalive
    if keepalive is None:
        return None  # zerodrop lint warns that it cannot say (contract_rules)
    proxy = f"Traefik keeps idle backend connections {s.proxy_idle:g}s"
    why = "it can reuse a connection the app is closing (502)"
    return when(s.proxy_idle >= keepalive, f"{proxy}, not below the app's keep-alive {keepalive:g}s: {why}")


@rule("healthcheck", "04-slow-start-without-readiness")
def no_healthcheck(s: Service) -> str | None:
    """Without readiness, Traefik routes a replica as soon as it runs."""
    return when(
        healthcheck_off(s.data),
        "routed by Traefik but has no healthcheck: it gets traffic before it is ready",
    )


@rule("slow-detection", "07-preflight-lint", warning=True)
def detection_makes_rollouts_slow(s: Service) -> str | None:
    """A slow healthcheck makes every batch wait for Docker to notice the change."""
    timing = s.timing
    if timing.interval is None:
        return None
    least = s.replicas * timing.batch_seconds()
    how = (
        f"healthcheck interval {timing.interval:g}s x retries {timing.retries}: each batch waits "
        f"~{timing.batch_seconds():.0f}s for Docker and Traefik to see health change"
    )
    return when(
        least > SLOW_ROLLOUT_SECONDS,
        f"{how}, so rolling {s.replicas} replica(s) one at a time takes at least {least:.0f}s; "
        "a shorter interval (1-2s) keeps it near the app's own start and drain",
    )


@rule("provider-throttle", "07-preflight-lint", warning=True)
def slow_provider_throttle(s: Service) -> str | None:
    """Traefik applies Docker events at most once per throttle period."""
    return when(
        s.throttle > 2.0,
        f"Traefik's providersThrottleDuration is {s.throttle:g}s (above 2s): every replica enters and "
        "leaves rotation that much later, and a drained one keeps getting requests meanwhile",
    )


@rule("ports", "02-manual-recipe")
def publishes_ports(s: Service) -> str | None:
    """Fixed published host ports stop a second replica from starting (as the rollout refuses)."""
    fixed = published_ports_of(s.data)
    return when(
        fixed, f"publishes host port(s) {', '.join(fixed)}: a second replica cannot start beside the first"
    )


@rule("container-name", "02-manual-recipe")
def fixed_container_name(s: Service) -> str | None:
    """A fixed name stops a second replica from existing."""
    return when(
        s.data.get("container_name"), "sets `container_name`: a second replica cannot exist during a rollout"
    )


@rule("networks", "07-preflight-lint")
def ambiguous_network(s: Service) -> str | None:
    """On several networks, Traefik may pick an address it cannot reach."""
    networks = s.data.get("networks") or []
    if len(networks) <= 1 or "traefik.docker.network" in s.labels or s.provider_network:
        return None
    return (
        f"is on {len(networks)} networks without a traefik.docker.network label: "
        "Traefik may pick an address it cannot reach"
    )


@rule("shell-cmd", "03-graceful-shutdown-is-not-enough")
def shell_is_pid_1(s: Service) -> str | None:
    """A shell as PID 1 does not pass SIGTERM on."""
    shell = shell_form_cmd(s.data, s.compose_dir)
    if not shell:
        return None
    return (
        f"{shell}: the shell is PID 1 and does not pass SIGTERM on, so there is no "
        "graceful shutdown, only SIGKILL at the grace deadline"
    )
