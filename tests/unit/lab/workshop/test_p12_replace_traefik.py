"""Which failures of page 12's fixed variant HTTP/1.1's idle-close race explains: a reset begun
within RACE_SECONDS of a Traefik's SIGTERM, and nothing else."""

from __future__ import annotations

from lab.workshop.p12_replace_traefik import RACE_SECONDS, idle_close_races
from zerodrop.measure.records import SHORT, WRITE, RequestRecord

SIGTERM_AT = 500.0
MARKS = [(SIGTERM_AT, "SIGTERM", "traefik-1"), (490.0, "SIGTERM", "app-1"), (495.0, "SIGHUP", "traefik-1")]


def failed(kind: str, start: float, error: str) -> RequestRecord:
    return RequestRecord(kind, start, start + 0.01, error=error)


def test_only_a_reset_at_a_traefiks_sigterm_is_the_race():
    race = failed(WRITE, SIGTERM_AT + 0.01, "reset")
    others = [
        failed(WRITE, SIGTERM_AT - RACE_SECONDS - 0.1, "reset"),  # too early
        failed(SHORT, SIGTERM_AT, "http-502"),  # not a reset
        failed(SHORT, 490.0, "reset"),  # at an app's SIGTERM
        failed(SHORT, 495.0, "reset"),  # at a signal that is not SIGTERM
    ]
    assert idle_close_races(MARKS, [race, *others]) == [race]
