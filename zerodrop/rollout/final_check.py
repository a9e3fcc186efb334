"""The rollout's last word, once every replica is replaced and routed: a real request through
Traefik's entrypoint, as the service's router declares it. When it does not answer as expected,
the rollout is done but unverified: nothing is undone (every replica is new and Traefik routes
them), and the result says what the request got."""

from __future__ import annotations

from zerodrop.errors import WaitTimeout, first_line
from zerodrop.model import EntrypointAnswer
from zerodrop.rollout.phase_log import RolloutLog
from zerodrop.rollout.platform import ServicePlatform
from zerodrop.rollout.replica_waits import ReplicaWaits


def answers_through_entrypoint(
    platform: ServicePlatform, gates: ReplicaWaits, log: RolloutLog, target: str, route_timeout: float
) -> str | None:
    """Retry the request until it answers as declared, by `target` where the service says its
    version, or the deadline passes (the route deadline, at least twice the request's own
    timeout). None when it answered; else what it got, also logged as UNVERIFIED."""
    last: list[EntrypointAnswer] = []

    def answered() -> bool:
        last[:] = [platform.entrypoint_answer()]
        return last[0].matches(target)

    bound = max(route_timeout, 2 * platform.answer_timeout)
    problem = None
    with log.phase("last-check", "Traefik's entrypoint") as record:  # part of the rollout's time
        try:
            gates.until(answered, "a request through Traefik's entrypoint", bound)
        except WaitTimeout as error:
            problem = _unanswered(last[0] if last else None, target, bound, error)
            record.detail = "not as declared"
    if problem is not None:
        log.note(f"UNVERIFIED: every replica was replaced and is routed, but {problem}")
        return problem
    by = last[0].version or "the service (it does not say its version)"
    log.note(f"through Traefik's entrypoint: {last[0].status} from {by}")
    return None


def _unanswered(got: EntrypointAnswer | None, target: str, bound: float, error: WaitTimeout) -> str:
    """What the last request through the entrypoint got, against what it should have."""
    if got is None:
        return f"no request through Traefik's entrypoint finished within {bound:g}s ({first_line(error)})"
    if got.version is None:
        return f"the request through Traefik's entrypoint answered {got.status}, not {got.expected}"
    return (
        f"the request through Traefik's entrypoint answered {got.status} from version "
        f"{got.version or 'unknown'}, not {got.expected} from {target}"
    )
