"""Finding a service's router and load balancer from its labels, as Traefik's docker provider names
them."""

from __future__ import annotations

import pytest

from zerodrop.adapters.traefik_routes import Route, route_from_labels
from zerodrop.errors import RolloutInputError


def test_the_router_names_its_load_balancer():
    labels = {
        "traefik.enable": "true",
        "traefik.http.routers.web-public.rule": "Host(`api.example.test`) && PathPrefix(`/`)",
        "traefik.http.routers.web-public.entrypoints": "web",
        "traefik.http.routers.web-public.service": "web-backend",
        "traefik.http.services.web-backend.loadbalancer.server.port": "8000",
    }
    assert route_from_labels("api", "shop", labels) == Route(
        ("web-public@docker",), "web-backend@docker", "api.example.test", ("web",)
    )


def test_one_defined_load_balancer_is_the_one_the_routers_use():
    labels = {
        "traefik.http.routers.r.rule": "Host(`a.test`)",
        "traefik.http.services.pool.loadbalancer.server.port": "80",
    }
    assert route_from_labels("api", "shop", labels).balancer == "pool@docker"


def test_without_a_defined_load_balancer_traefik_names_it_after_service_and_project():
    labels = {"traefik.http.routers.r.rule": "Host(`a.test`)"}
    assert route_from_labels("api", "shop", labels).balancer == "api-shop@docker"


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"traefik.enable": "false", "traefik.http.routers.r.rule": "Host(`a.test`)"},
        {
            "traefik.http.routers.a.service": "one",
            "traefik.http.routers.b.service": "two",
        },
    ],
)
def test_no_router_or_an_ambiguous_one_is_bad_input(labels):
    with pytest.raises(RolloutInputError):
        route_from_labels("api", "shop", labels)
