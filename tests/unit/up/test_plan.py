"""The plan of `zerodrop up`, on compose's merged configuration: which services change (their
config hash), how (roll, recreate, refuse, the proxy), and in which order (depends_on)."""

from __future__ import annotations

from typing import Any

import pytest

from zerodrop.errors import RolloutInputError
from zerodrop.up.plan import (
    CREATE,
    PROXY,
    PROXY_ROLL,
    RECREATE,
    REFUSE,
    ROLL,
    UNCHANGED,
    change_of,
    dependency_levels,
    named_volumes,
    plan_up,
    service_references,
)

CHECK = {"test": ["CMD", "true"], "interval": "1s", "timeout": "1s", "retries": 1}
ROUTED = {"traefik.enable": "true", "traefik.http.routers.web.rule": "Host(`web.localhost`)",
          "zerodrop.drain": "signal:SIGUSR1"}  # fmt: skip


def project() -> dict[str, Any]:
    """The second example's shape: two routed services (web after api), a worker, a database with
    a volume, and Traefik (routing only what says traefik.enable)."""
    return {
        "name": "shop2",
        "services": {
            "traefik": {"image": "traefik:v3.7", "command": ["--providers.docker.exposedByDefault=false"],
                        "ports": [{"published": "8080", "target": 80}]},
            "api": {"image": "api:v2", "labels": {**ROUTED, "traefik.http.routers.api.rule": "Host(`api`)"},
                    "healthcheck": CHECK, "depends_on": {"db": {"condition": "service_healthy"}},
                    "deploy": {"replicas": 2}},
            "web": {"image": "web:v2", "labels": ROUTED, "healthcheck": CHECK,
                    "depends_on": {"api": {"condition": "service_healthy"}}, "deploy": {"replicas": 2}},
            "worker": {"image": "worker:v2", "depends_on": ["db"]},
            "db": {"image": "db:v2", "healthcheck": CHECK,
                   "volumes": [{"type": "volume", "source": "data", "target": "/var/lib/db"}]},
        },
    }  # fmt: skip


NOW = {name: f"{name}-new" for name in ("traefik", "api", "web", "worker", "db")}


def running(changed: set[str], counts: dict[str, int] | None = None) -> dict[str, list[str]]:
    """Containers' hashes: the changed services' are old, the others' current."""
    counts = {"api": 2, "web": 2, **(counts or {})}
    return {
        name: [f"{name}-old" if name in changed else now] * counts.get(name, 1) for name, now in NOW.items()
    }


def test_compose_decides_the_change_from_the_config_hash():
    assert change_of("h1", []) == CREATE
    assert change_of("h1", ["h1", "h1"]) == UNCHANGED
    assert change_of("h1", ["h1", "h0"]) == RECREATE


def test_every_image_changed_rolls_the_routed_recreates_the_worker_refuses_the_database_and_the_proxy():
    plan = plan_up(project(), NOW, running(set(NOW)))
    actions = {s.service: s.action for s in plan.steps}
    assert actions == {"traefik": PROXY, "api": ROLL, "web": ROLL, "worker": RECREATE, "db": REFUSE}
    assert "named volume(s) data" in plan.step("db").reason
    assert [s.service for s in plan.blocked()] == ["db", "traefik"]


def test_the_order_is_compose_s_dependency_order_in_levels():
    plan = plan_up(project(), NOW, running(set(NOW)))
    assert plan.levels == (("db", "traefik"), ("api", "worker"), ("web",))
    assert [s.service for s in plan.steps] == ["db", "traefik", "api", "worker", "web"]
    assert plan.step("web").healthy_first == ("api",) and plan.step("worker").healthy_first == ()


def test_unchanged_services_stay_and_a_new_one_is_created():
    plan = plan_up(project(), NOW, {**running({"web"}), "worker": []})
    actions = {s.service: s.action for s in plan.steps}
    assert actions == {"traefik": UNCHANGED, "api": UNCHANGED, "web": ROLL, "worker": CREATE, "db": UNCHANGED}
    assert [s.service for s in plan.changes()] == ["worker", "web"]
    assert plan.blocked() == []


def test_recreate_unrollable_turns_a_refusal_into_a_recreate_that_names_its_outage():
    plan = plan_up(project(), NOW, running({"db"}), recreate_unrollable=True)
    assert plan.step("db").action == RECREATE and "stopped" in plan.step("db").outage
    assert "OUTAGE" in plan.step("db").line()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"container_name": "web1"}, "container_name"),
        ({"ports": [{"published": "9000", "target": 8000}]}, "host port(s) 9000"),
        ({"healthcheck": None}, "no healthcheck"),
        ({"labels": {k: v for k, v in ROUTED.items() if k != "zerodrop.drain"}}, "no drain contract"),
    ],
)
def test_a_routed_service_that_cannot_roll_is_refused_with_its_reason(change, why):
    config = project()
    config["services"]["web"] = {**config["services"]["web"], **change}
    plan = plan_up(config, NOW, running({"web"}))
    assert plan.step("web").action == REFUSE and why in plan.step("web").reason


def test_with_exposed_by_default_a_service_without_labels_is_routed():
    config = project()
    config["services"]["traefik"]["command"] = ["--providers.docker=true"]
    plan = plan_up(config, NOW, running({"worker"}))
    assert plan.step("worker").action == REFUSE and "routed but not rollable" in plan.step("worker").reason


def test_named_services_only_and_an_unknown_one_is_bad_input():
    plan = plan_up(project(), NOW, running(set(NOW)), only=["web", "worker"])
    assert [s.service for s in plan.steps] == ["web", "worker"]
    assert plan.levels == (("web", "worker"),), "a dependency not named is taken as done"
    with pytest.raises(RolloutInputError, match="no service 'nope'"):
        plan_up(project(), NOW, running(set()), only=["nope"])


def test_a_dependency_cycle_is_bad_input():
    with pytest.raises(RolloutInputError, match="cycle among: a, b"):
        dependency_levels({"a": ["b"], "b": ["a"], "c": []})


def test_named_volumes_are_volumes_with_a_source_long_or_short():
    assert named_volumes({"volumes": ["data:/d", "./here:/h", "/abs:/a", "/anon"]}) == ["data"]
    assert named_volumes({"volumes": [{"type": "bind", "source": "/x", "target": "/y"},
                                      {"type": "volume", "target": "/anon"}]}) == []  # fmt: skip


def test_service_references_are_found_where_compose_resolves_them():
    """compose hashes `network_mode: service:anchor` as `container:<anchor's id>`: `up` must ask
    for those services' hashes with the reference resolved, or it takes them for changed."""
    config = {"services": {
        "anchor": {"image": "python"},
        "traefik": {"network_mode": "service:anchor", "pid": "host"},
        "sidecar": {"ipc": "service:app", "network_mode": "container:abc"},
        "app": {"image": "shop"},
    }}  # fmt: skip
    assert service_references(config) == {"traefik": {"network_mode": "anchor"}, "sidecar": {"ipc": "app"}}


def test_a_changed_traefik_in_an_anchor_s_namespace_with_reuseport_is_replaced_beside_itself():
    """The proxy rollout's set-up (docker-compose.proxy-anchor.yml): `up` replaces Traefik with
    zerodrop rollout-proxy; without reusePort on an entrypoint it still stops the plan, saying why."""
    config = project()
    config["services"]["anchor"] = {"image": "python"}
    config["services"]["traefik"] = {
        "image": "traefik:v3.7", "network_mode": "service:anchor",
        "command": ["--providers.docker.exposedByDefault=false", "--entrypoints.web.address=:80",
                    "--entrypoints.web.reusePort=true"],
    }  # fmt: skip
    now = {**NOW, "anchor": "anchor-new"}
    plan = plan_up(config, now, {**running({"traefik"}), "anchor": ["anchor-new"]})
    assert plan.step("traefik").action == PROXY_ROLL and "anchor's namespace" in plan.step("traefik").reason
    assert plan.blocked() == [] and [s.service for s in plan.changes()] == ["traefik"]
    config["services"]["traefik"]["command"] = ["--entrypoints.web.address=:80"]
    plan = plan_up(config, now, {**running({"traefik"}), "anchor": ["anchor-new"]})
    assert (
        plan.step("traefik").action == PROXY
        and "entrypoint web has no reusePort" in plan.step("traefik").reason
    )
