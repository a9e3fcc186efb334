"""The rules `zerodrop lint` adds for any service it is to roll: a drain contract declared and
honoured by the healthcheck, a grace period that covers drain detection, the longest request
and the shutdown work, and a streams signal the rollout can act on and see the end of. Each
names its section of docs/apply.md."""

from __future__ import annotations

import json

from zerodrop.adapters.service_program import program
from zerodrop.errors import RolloutInputError
from zerodrop.lint.rules import RULES, Rule, rule, when
from zerodrop.lint.service import KEEPALIVE_LABEL, LONGEST_REQUEST_LABEL, Service, healthcheck_off
from zerodrop.rollout.contract import (
    DRAIN_LABEL,
    FILE_KIND,
    INFLIGHT_LABEL,
    STREAMS_LABEL,
    parse_contract,
    parse_streams,
)

CONTRACT_RULES: list[Rule] = []
APPLY = "docs/apply.md#{}"


@rule("drain-contract", APPLY.format("the-drain-contract"), into=CONTRACT_RULES)
def no_drain_contract(s: Service) -> str | None:
    """zerodrop cannot take a replica out of rotation without being told how."""
    declared = s.labels.get(DRAIN_LABEL)
    if not declared:
        return (
            f"no drain contract: zerodrop cannot take a replica out of rotation; label {DRAIN_LABEL}="
            "signal:DRAIN/UNDRAIN, file:/PATH (the healthcheck fails while it exists) or sigterm"
        )
    try:
        contract = parse_contract(declared)
    except RolloutInputError as error:
        return str(error)
    test = (s.data.get("healthcheck") or {}).get("test")
    text = json.dumps(test) if isinstance(test, list) else str(test or "")
    return when(
        contract.kind == FILE_KIND and not healthcheck_off(s.data) and contract.path not in text,
        f"drains with {contract.path}, but the healthcheck does not look at it: creating the file "
        "would not take the replica out of rotation",
    )


@rule("grace-drain", APPLY.format("timing"), into=CONTRACT_RULES)
def grace_below_drain_and_work(s: Service) -> str | None:
    """The stop must outlast drain detection, the longest request and the shutdown work."""
    timing = s.timing
    if timing.interval is None or s.longest is None:
        return None
    detection = timing.flip + timing.throttle
    needed = detection + s.longest + s.work
    terms = f"drain detection {detection:g}s + longest request {s.longest:g}s + shutdown work {s.work:g}s"
    return when(
        s.grace < needed,
        f"stop grace period {s.grace:g}s is below {terms} = {needed:g}s: the stop cuts work",
    )


@rule("longest-request", APPLY.format("timing"), warning=True, into=CONTRACT_RULES)
def longest_request_unknown(s: Service) -> str | None:
    """Without the longest request, the grace period cannot be checked."""
    return when(
        s.longest is None,
        f"no label {LONGEST_REQUEST_LABEL} (e.g. 15s): the grace period cannot be checked against it",
    )


@rule("streams", APPLY.format("long-lived-streams-optional"), into=CONTRACT_RULES)
def unreadable_streams_signal(s: Service) -> str | None:
    """A streams label the rollout could not act on."""
    declared = s.labels.get(STREAMS_LABEL)
    if declared is None:
        return None
    try:
        parse_streams(declared)
    except RolloutInputError as error:
        return str(error)
    return None


@rule("streams-idle", APPLY.format("long-lived-streams-optional"), warning=True, into=CONTRACT_RULES)
def streams_without_inflight(s: Service) -> str | None:
    """Streams ended with no in-flight endpoint: nothing says when the last one has closed."""
    return when(
        STREAMS_LABEL in s.labels and INFLIGHT_LABEL not in s.labels,
        f"{STREAMS_LABEL} without {INFLIGHT_LABEL}: zerodrop cannot see when the streams have "
        "closed, so a slow one is cut at the stop; count open streams in an in-flight endpoint",
    )


@rule("keepalive-unknown", "keep-alive-race", warning=True, into=CONTRACT_RULES)
def keepalive_unknown(s: Service) -> str | None:
    """Without the app's keep-alive, Traefik's idle timeout cannot be weighed against it."""
    return when(
        s.keepalive is None,
        f"the server's keep-alive is unknown: label {KEEPALIVE_LABEL}=DURATION (how long it keeps an "
        "idle connection; none if it never closes one), so lint can weigh Traefik's idle timeout",
    )


@rule("idle-grace", APPLY.format("timing"), warning=True, into=CONTRACT_RULES)
def idle_not_below_grace(s: Service) -> str | None:
    """A server that waits at shutdown for idle connections waits for Traefik's to time out."""
    return when(
        s.proxy_idle >= s.grace,
        f"Traefik holds idle connections to a replica {s.proxy_idle:g}s, not below its stop grace "
        f"period {s.grace:g}s: a server that waits for idle keep-alive connections when it stops "
        "is SIGKILLed at every stop; set --serversTransport.forwardingTimeouts.idleConnTimeout "
        "below the grace, or make the server close idle connections when it stops",
    )


@rule("nginx-stop-signal", APPLY.format("timing"), into=CONTRACT_RULES)
def nginx_without_sigquit(s: Service) -> str | None:
    """nginx's SIGTERM is its fast shutdown: requests in flight are cut; SIGQUIT is the graceful one."""
    signal_name = str(s.data.get("stop_signal") or "SIGTERM").upper()
    return when(
        program(s.data, s.compose_dir) == "nginx" and signal_name not in {"SIGQUIT", "QUIT"},
        f"nginx stops at once on {signal_name} (its fast shutdown: requests in flight are cut): "
        "set stop_signal: SIGQUIT, its graceful shutdown",
    )


# grace-drain weighs what grace-request weighs and drain detection too: one finding, not two.
TOOL_RULES: list[Rule] = [*(r for r in RULES if r.code != "grace-request"), *CONTRACT_RULES]
