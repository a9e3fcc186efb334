"""The drain contract and in-flight endpoint a service declares, read from its label or flag."""

from __future__ import annotations

import pytest

from zerodrop.errors import RolloutInputError
from zerodrop.rollout.contract import (
    DrainContract,
    InflightEndpoint,
    parse_contract,
    parse_inflight,
    parse_streams,
)


@pytest.mark.parametrize(
    ("text", "contract"),
    [
        ("signal:SIGUSR1/SIGUSR2", DrainContract("signal", "SIGUSR1", "SIGUSR2")),
        ("signal:usr1/USR2", DrainContract("signal", "SIGUSR1", "SIGUSR2")),
        ("file:/tmp/drain", DrainContract("file", path="/tmp/drain")),
        ("sigterm", DrainContract("sigterm")),
    ],
)
def test_each_contract_is_read(text, contract):
    assert parse_contract(text) == contract
    assert parse_contract(text).reclaimable == (contract.kind != "sigterm")


@pytest.mark.parametrize(
    "text",
    ["", "signal:SIGUSR1", "signal:SIGNOPE/SIGUSR2", "file:tmp/drain", "file:", "sigterm:x", "sleep:10"],
)
def test_anything_else_is_bad_input(text):
    with pytest.raises(RolloutInputError):
        parse_contract(text)


def test_the_inflight_endpoint_is_a_field_of_a_get_on_the_replicas_loopback():
    endpoint = parse_inflight("http://127.0.0.1:8000/stats?x=1#work.inflight")
    assert endpoint == InflightEndpoint(8000, "/stats?x=1", "work.inflight")
    assert endpoint.read({"work": {"inflight": 3}}) == 3
    with pytest.raises(RolloutInputError, match="no field"):
        endpoint.read({"work": {}})
    with pytest.raises(RolloutInputError, match="not a number"):
        endpoint.read({"work": {"inflight": True}})


@pytest.mark.parametrize(
    "text",
    [
        "http://10.0.0.2:8000/stats#n",
        "http://127.0.0.1:8000/stats",
        "http://127.0.0.1:0/s#n",
        "https://127.0.0.1:1/s#n",
    ],
)
def test_an_endpoint_off_the_replicas_loopback_or_without_a_field_is_refused(text):
    with pytest.raises(RolloutInputError):
        parse_inflight(text)


def test_the_streams_label_names_a_signal():
    assert parse_streams("signal:SIGHUP") == "SIGHUP" and parse_streams("signal:hup") == "SIGHUP"
    for bad in ("SIGHUP", "signal:", "signal:SIGNOPE", "file:/tmp/x"):
        with pytest.raises(RolloutInputError):
            parse_streams(bad)


@pytest.mark.parametrize("name", ["SIGKILL", "SIGSTOP", "SIGTERM", "SIGINT", "SIGQUIT", "kill"])
def test_signals_that_stop_the_process_or_cannot_be_caught_are_no_drain_and_no_streams_signal(name):
    with pytest.raises(RolloutInputError, match="cannot be used"):
        parse_contract(f"signal:{name}/SIGUSR2")
    with pytest.raises(RolloutInputError, match="cannot be used"):
        parse_contract(f"signal:SIGUSR1/{name}")
    with pytest.raises(RolloutInputError, match="cannot be used"):
        parse_streams(f"signal:{name}")
