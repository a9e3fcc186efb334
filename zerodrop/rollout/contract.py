"""How a service agrees to be taken out of rotation (its drain contract) and how it can say what it
is still serving (its in-flight endpoint), as its labels or `--drain` declare them.

Drain contracts:
- `signal:SIGUSR1/SIGUSR2`: a signal drains (readiness fails, the app keeps serving), another
  undrains. The lab's app.
- `file:PATH`: the healthcheck fails while PATH exists in the container; zerodrop creates and
  removes it. No application code needed (docker-rollout's recipe, Kamal's "cord").
- `sigterm`: the app goes lame duck on SIGTERM. A SIGTERM cannot be taken back, so a replica
  drained this way is never reclaimed: an undo starts a new one instead.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from zerodrop.errors import RolloutInputError

DRAIN_LABEL = "zerodrop.drain"
INFLIGHT_LABEL = "zerodrop.inflight"
TRAEFIK_API_LABEL = "zerodrop.traefik-api"
STREAMS_LABEL = "zerodrop.streams"  # signal:NAME: what tells a replica to end its long-lived streams
CONTRACTS_HELP = (
    "declare how to drain it: label zerodrop.drain (or --drain) = signal:SIGUSR1/SIGUSR2, "
    "file:/PATH (the healthcheck fails while it exists) or sigterm; see docs/apply.md"
)
SIGNAL_KINDS = "signal"
FILE_KIND = "file"
SIGTERM_KIND = "sigterm"
INFLIGHT_PATTERN = re.compile(r"^http://127\.0\.0\.1:(\d{1,5})(/[^#\s]*)#([A-Za-z_][\w.]*)$")


@dataclass(frozen=True)
class DrainContract:
    """One of the three contracts, with its signals or its file."""

    kind: str
    drain_signal: str = ""
    undrain_signal: str = ""
    path: str = ""

    @property
    def reclaimable(self) -> bool:
        """Whether a drained replica can be put back in rotation (not after a SIGTERM)."""
        return self.kind != SIGTERM_KIND

    def line(self) -> str:
        """How the contract drains, in a few words, for the console."""
        if self.kind == SIGNAL_KINDS:
            return f"drain by {self.drain_signal}, undrain by {self.undrain_signal}"
        if self.kind == FILE_KIND:
            return f"drain by creating {self.path} (the healthcheck fails), undrain by removing it"
        return "drain by SIGTERM (lame duck): a drained replica cannot be put back, an undo starts new ones"


# Signals that cannot mean "drain" or "end your streams": they cannot be caught (KILL, STOP), or
# they are the stop itself (TERM, INT, QUIT), which no drain can take back.
NOT_A_DRAIN = ("SIGKILL", "SIGSTOP", "SIGTERM", "SIGINT", "SIGQUIT")


def _signal_name(raw: str, what: str = "drain contract") -> str:
    name = raw.upper() if raw.upper().startswith("SIG") else f"SIG{raw.upper()}"
    if name not in signal.Signals.__members__:
        raise RolloutInputError(f"{what}: {raw!r} is not a signal")
    if name in NOT_A_DRAIN:
        raise RolloutInputError(
            f"{what}: {name} cannot be used: it stops the process or cannot be caught; "
            "pick a signal the app handles, e.g. SIGUSR1/SIGUSR2 (or the sigterm contract)"
        )
    return name


def parse_contract(text: str) -> DrainContract:
    """The contract a label or `--drain` declares; RolloutInputError for anything else."""
    kind, _, rest = text.strip().partition(":")
    if kind == SIGNAL_KINDS:
        drain, sep, undrain = rest.partition("/")
        if not sep:
            raise RolloutInputError(
                f"drain contract {text!r}: write signal:DRAIN/UNDRAIN, e.g. signal:SIGUSR1/SIGUSR2"
            )
        return DrainContract(SIGNAL_KINDS, _signal_name(drain), _signal_name(undrain))
    if kind == FILE_KIND:
        if not rest.startswith("/") or any(c in rest for c in "\n\0"):
            raise RolloutInputError(
                f"drain contract {text!r}: the file is an absolute path, e.g. file:/tmp/drain"
            )
        return DrainContract(FILE_KIND, path=rest)
    if kind == SIGTERM_KIND and not rest:
        return DrainContract(SIGTERM_KIND)
    raise RolloutInputError(f"drain contract {text!r} is not one of signal:..., file:... or sigterm")


def parse_streams(text: str) -> str:
    """The signal a `zerodrop.streams=signal:NAME` label declares; RolloutInputError otherwise."""
    kind, _, name = text.strip().partition(":")
    if kind != SIGNAL_KINDS or not name:
        raise RolloutInputError(f"{STREAMS_LABEL}={text!r}: write signal:NAME, e.g. signal:SIGHUP")
    return _signal_name(name, STREAMS_LABEL)


@dataclass(frozen=True)
class InflightEndpoint:
    """Where a replica says how much work it is serving: a JSON field of a GET on its loopback."""

    port: int
    path: str
    field: str

    def read(self, document: object) -> int:
        """The count from the endpoint's JSON (the dotted field); RolloutInputError if absent."""
        value = document
        for key in self.field.split("."):
            if not isinstance(value, dict) or key not in value:
                raise RolloutInputError(f"in-flight endpoint: no field {self.field!r} in its answer")
            value = value[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RolloutInputError(f"in-flight endpoint: {self.field!r} is not a number")
        return int(value)


def parse_inflight(text: str) -> InflightEndpoint:
    """`http://127.0.0.1:PORT/PATH#json.field`; RolloutInputError for anything else (the request
    is made inside the replica's own network namespace, so only its loopback is allowed)."""
    match = INFLIGHT_PATTERN.match(text.strip())
    if match is None or not 0 < int(match.group(1)) < 65536:
        raise RolloutInputError(
            f"{INFLIGHT_LABEL}={text!r}: write http://127.0.0.1:PORT/PATH#json.field "
            "(the replica's own loopback)"
        )
    return InflightEndpoint(int(match.group(1)), match.group(2), match.group(3))
