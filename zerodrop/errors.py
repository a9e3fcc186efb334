"""Every exception zerodrop raises, and the exit status each one ends a command with (the lab's
own, in lab/errors.py, extend this tree).

A command that fails prints one line, `<prefix><message>`, and exits with the class's status:

    ZerodropError
    ├── InputError (a ValueError)              2  bad input: nothing was changed
    │   ├── ConfigError                        2  "bad setting: " a setting has an unusable value
    │   ├── RolloutInputError                  2  the rollout cannot start as asked
    │   ├── RolloutLocked                      2  another rollout of the project is running
    │   ├── HistoryUnreadable                  2  the rollout history cannot be read
    │   ├── ProbeInputError                    2  the probe was asked for what it must not do
    │   └── LintInputError                     2  the compose file cannot be read
    │       (the lab adds its own below InputError: lab/errors.py)
    ├── Unavailable (a RuntimeError)           5  something did not answer: nothing was changed
    │   ├── PlatformUnavailable                5  may pass if retried (Docker, Traefik, a replica)
    │   ├── DockerUnavailable                  5  the engine
    │   ├── TraefikUnavailable                 5  Traefik's API
    │   └── ReplicaUnreachable                 5  the app, asked from inside its container
    ├── OperationFailed (a RuntimeError)       1  a step failed
    │   ├── DockerCliError                     1  a docker command
    │   │   ├── ComposeError                   1  a compose command
    │   │   └── StackError                     1  a docker stack command
    │   ├── ReplicaLost                        1  a replica counted on stopped running or serving
    │   ├── RouteBroken                        1  Traefik's router no longer routes as it did
    │   ├── RecoverFailed                      1  recover stopped; what it started was taken away
    │   ├── StreamMalformed                    1  a held stream sent data the probe cannot read
    │   └── HandoverStopped                    1  (or 128 + a signal) a new Traefik was not
    │                                                confirmed: removed, the old one serves
    ├── WaitTimeout (a TimeoutError)           1  a wait ran out of time
    └── RolloutStopped (a RuntimeError)        1  "rollout stopped: " the current batch was undone
        ├── RolloutFailed                      1  a step failed or ran out of time
        └── RolloutInterrupted                 128 + the signal's number

    Reclaimed (not a ZerodropError: it never leaves zerodrop.rollout.retirement_pool)
    UsageExit (a SystemExit, argparse's way out)   2  a command line argparse refused, printed
"""

from __future__ import annotations

import signal
from typing import Any

EXIT_OK = 0  # done: every replica replaced, nothing cut
EXIT_FAILED = 1  # a step failed: the current batch was undone (earlier batches stay replaced)
EXIT_BAD_INPUT = 2  # bad input, or another rollout holds the lock: nothing was changed
EXIT_CUT = 3  # done, but an old replica was stopped with work in flight or exited uncleanly
EXIT_UNVERIFIED = 4  # done (every replica replaced and routed), but the last request through the
# entrypoint did not answer as the router declares: nothing was undone, the new image is deployed
EXIT_UNAVAILABLE = 5  # nothing was changed: the engine or Traefik did not answer (try again later);
# once a rollout or recover has changed something, a failure is 1 (its undo ran) instead
EXIT_SIGNAL_BASE = 128  # interrupted by signal N (SIGINT 130, SIGTERM 143): current batch undone


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an error's message, at most `limit` characters; its class's name when
    the message is empty."""
    return (str(error).splitlines() or [type(error).__name__])[0][:limit]


class ZerodropError(Exception):
    """The root: every error a command turns into one line and an exit status."""

    exit_code: int = EXIT_FAILED
    prefix: str = ""

    def line(self) -> str:
        """The one line a command prints for this error."""
        return f"{self.prefix}{self}"


class InputError(ZerodropError, ValueError):
    """Bad input: one line, exit status 2, nothing changed."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(InputError):
    """A setting has a value the lab cannot use."""

    prefix = "bad setting: "


class RolloutInputError(InputError):
    """The rollout cannot start as asked; nothing was changed."""


class RolloutLocked(InputError):
    """Another rollout of the same project is running."""


class HistoryUnreadable(InputError):
    """The project's rollout history file cannot be read."""


class ProbeInputError(InputError):
    """The probe was asked for something it must not do (another host, negative rates)."""


class LintInputError(InputError):
    """The compose file cannot be read."""


class Unavailable(ZerodropError, RuntimeError):
    """Something zerodrop talks to did not answer, before anything was changed (a rollout or a
    recover that has begun turns it into a failure of its own, exit 1, after its undo)."""

    exit_code = EXIT_UNAVAILABLE


class PlatformUnavailable(Unavailable):
    """A call to Docker, Traefik's API or a replica failed in a way that may pass if retried."""


class DockerUnavailable(Unavailable):
    """The engine does not answer."""


class TraefikUnavailable(Unavailable):
    """Traefik's API does not answer."""


class ReplicaUnreachable(Unavailable):
    """The app inside a container did not answer a request made from inside it."""


class OperationFailed(ZerodropError, RuntimeError):
    """A step failed."""


class DockerCliError(OperationFailed):
    """A docker CLI command failed; the message carries the end of its output, and `output` the
    command's own last lines alone."""

    output: str = ""


class ComposeError(DockerCliError):
    """A compose command failed; the message carries the end of its output."""


class StackError(DockerCliError):
    """`docker stack` failed; the message carries the end of its output."""


class ReplicaLost(OperationFailed):
    """A replica the rollout counts on (a new one, serving) stopped running or serving."""


class RouteBroken(OperationFailed):
    """Traefik's router for the service no longer routes as it did (a new replica's labels
    define it differently, say): its servers may be listed, yet every request misses."""


class RecoverFailed(OperationFailed):
    """`recover` could not finish: Traefik's router did not route before it began (nothing was
    changed), or a replica it started did not come up (it was taken away again)."""

    prefix = "recover stopped: "


class StreamMalformed(OperationFailed):
    """A stream the probe holds sent data it cannot read as an event (its data not JSON with an
    integer id, a `retry:` that is not digits): the lane counts a `malformed` drop."""


class WaitTimeout(ZerodropError, TimeoutError):
    """A wait ran out of time; the message says what was awaited and what was last seen."""


class RolloutStopped(ZerodropError, RuntimeError):
    """The rollout stopped before the end and undid its current batch. `left_behind`: what the
    undo could not do; `now`: what serves afterwards, as Docker and Traefik report it."""

    prefix = "rollout stopped: "

    def __init__(self, message: str, left_behind: list[str] | None = None, *, undone: bool = True) -> None:
        super().__init__(message)
        self.left_behind = left_behind or []
        self.now: list[str] = []
        self.undone = undone  # False: found wrong after the last batch, with nothing left to undo


class RolloutFailed(RolloutStopped):
    """A step failed or ran out of time (exit status 1)."""


class RolloutInterrupted(RolloutStopped):
    """A signal stopped the rollout (exit status 128 + the signal's number)."""

    def __init__(self, signum: int, left_behind: list[str] | None = None) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}", left_behind)
        self.signum = signum
        self.exit_code = EXIT_SIGNAL_BASE + signum


class HandoverStopped(OperationFailed):
    """The proxy rollout's new Traefik was not confirmed (or an interrupt came first): it was
    removed and the old one serves as before. `result`: what the hand-over did and timed."""

    def __init__(self, message: str, result: Any, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.result = result
        self.exit_code = exit_code


class Reclaimed(Exception):
    """Raised inside a retirement's waits once the rollout has reclaimed its replica."""


class UsageExit(SystemExit):
    """A usage error on a command line, already printed as its one line: exit status 2 (argparse's
    way out, so outside the tree above), carrying the line it printed."""

    def __init__(self, line: str) -> None:
        super().__init__(EXIT_BAD_INPUT)
        self.line = line
