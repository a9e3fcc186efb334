"""Which failed requests a node fault explains: those in flight at the fault, or begun within
FAULT_WINDOW_SECONDS of it or of Traefik first listing a new server (its reload resets the
health check, traefik#13223)."""

from __future__ import annotations

from lab.cluster.faults import KILL, NodeFault
from lab.cluster.measure import FAULT_WINDOW_SECONDS, ClusterMeasurement
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import SHORT, RequestRecord

AT = 1000.0


def failed(start: float, end: float) -> RequestRecord:
    return RequestRecord(SHORT, start, end, status=502, error="http-502")


def outside(fault: NodeFault, *records: RequestRecord) -> int:
    probe = ProbeResult(
        ProbeOptions(base_url="http://127.0.0.1:1", host="x"), AT - 10, AT + 60, list(records)
    )
    return ClusterMeasurement("kill w1 at rest", probe, fault=fault).failed_outside_window()


def test_failures_in_flight_at_the_fault_or_begun_in_its_window_are_explained():
    fault = NodeFault(KILL, "w1", at=AT)
    assert (
        outside(
            fault, failed(AT - 8, AT + 2), failed(AT + 1, AT + 11), failed(AT + FAULT_WINDOW_SECONDS, AT + 6)
        )
        == 0
    )
    assert outside(fault, failed(AT - 3, AT - 1), failed(AT + FAULT_WINDOW_SECONDS + 0.1, AT + 7)) == 2


def test_the_window_opens_again_when_traefik_first_lists_a_new_server():
    """A 502 begun 16.7 s after the kill, just after the replacement was listed (as at 222c1bf):
    explained by the second window, and a failure between the two windows still is not."""
    fault = NodeFault(KILL, "w1", at=AT, new_server=AT + 15.9)
    assert outside(fault, failed(AT + 16.7, AT + 16.8)) == 0
    assert (
        outside(fault, failed(AT + 10, AT + 10.1), failed(AT + 15.9 + FAULT_WINDOW_SECONDS + 0.1, AT + 22))
        == 2
    )
    assert outside(NodeFault(KILL, "w1", at=AT), failed(AT + 16.7, AT + 16.8)) == 1, (
        "no new server listed: outside"
    )
