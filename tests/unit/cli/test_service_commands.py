"""`zerodrop status`'s image drift and the outcome lines and exit status `recover` shares with the
lab's command."""

from __future__ import annotations

from dataclasses import replace

from zerodrop.cli.service_commands import drift
from zerodrop.errors import EXIT_CUT, EXIT_FAILED, EXIT_OK
from zerodrop.model import Replica
from zerodrop.rollout.leftovers import ServiceView, replica_table
from zerodrop.rollout.mend import Recovered
from zerodrop.rollout.retirement import CutWork

REPLICA = Replica("id1", "shop-web-1", "h1", "shop:v2", "shop:v2", "running", "healthy", ("10.0.0.2",), 1)


def view(*versions: str) -> ServiceView:
    replicas = [replace(REPLICA, id=f"id{n}", version=v) for n, v in enumerate(versions)]
    return ServiceView(replicas, {}, set())


def test_no_drift_when_the_compose_files_name_what_runs():
    assert drift("shop:v2", view("shop:v2", "shop:v2")) is None
    assert drift("shop:v2", view()) is None


def test_drift_names_both_images_and_the_fix():
    line = drift("shop:v1", view("shop:v2", "shop:v2"))
    assert line is not None
    assert "name shop:v1, replicas run shop:v2" in line and line.endswith("set the image there to shop:v2")


def test_the_replica_table_widens_for_long_image_versions():
    lines = replica_table(view("registry.example.com/team/shop:2026-12-02"))
    assert lines[1].split()[1] == "registry.example.com/team/shop:2026-12-02"
    assert lines[0].index("status") == lines[1].index("running")


def test_recovered_says_nothing_to_mend_and_exits_by_what_is_left():
    assert Recovered([]).lines() == ["nothing to mend"] and Recovered([]).exit_code() == EXIT_OK
    assert Recovered(["x"], still=["mixed versions: v1 x1, v2 x1"]).exit_code() == EXIT_OK
    assert Recovered(["x"], still=["missing replicas: 1 run, 2 wanted"]).exit_code() == EXIT_FAILED
    cut = CutWork("shop-web-1", 1, 137)
    assert Recovered(["x"], cut=[cut]).exit_code() == EXIT_CUT
