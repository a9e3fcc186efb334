"""Page 11, the program of the article this lab comes from (conformance/go-article: Go's stdlib,
`/` 15 s, `/ping` 10 s, Shutdown with 30 s, no health endpoint, an image with no shell), in its own
compose project with its own Traefik. Broken: the article's own setup (no healthcheck) and recipe,
under the probe: scale to 3 with --no-recreate, `docker stop -t 30` the two oldest, prune, scale
back to 2. Fixed: only what docs/apply.md asks added, and `zerodrop rollout`."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import docker

from lab.config import load_config
from lab.conformance import STRANGERS, Running, running_stranger
from lab.under_load import measure_under_load
from lab.workshop.actions import stop_all
from lab.workshop.harness import BROKEN, FIXED, Outcome, Page
from lab.workshop.watch import watching
from zerodrop.adapters.docker_cli import run_docker
from zerodrop.adapters.docker_sdk import get_container, replicas
from zerodrop.measure.probe_data import ProbeResult
from zerodrop.rollout.phase_log import load_phases
from zerodrop.target import ComposeTarget
from zerodrop.waits import wait_for

GO = next(s for s in STRANGERS if s.folder == "go-article")
ARTICLE_SETUP = GO.compose_file.parent / "article.yml"  # its own setup: no healthcheck
SETTLE = 20  # short answers before and after the action (each /ping takes 10 s)


def the_articles_recipe(
    client: docker.DockerClient, running: Running, marks: list[tuple[float, str, str]]
) -> list[int | None]:
    """Scale to 3 with the new image (--no-recreate), wait until Traefik routes the new one,
    `docker stop -t 30` the two oldest, prune them, scale back to 2; their exit codes."""
    env = {**os.environ, "APP_IMAGE": f"{GO.image}:v2"}
    compose = ["compose", *running.flags(ARTICLE_SETUP)]
    old = sorted(replicas(client, running.project, GO.service), key=lambda r: r.number)
    marks.append((time.time(), "compose up --scale app=3 --no-recreate", ""))
    run_docker(*compose, "up", "-d", "--no-build", "--no-recreate", "--scale", "app=3", env=env)
    wait_for(
        lambda: len(running.routed()) == 3, what="Traefik to route the new replica", timeout=60, interval=0.2
    )
    containers = [c for r in old if (c := get_container(client, r.id)) is not None]
    marks.append((time.time(), "docker stop -t 30 (the two oldest)", ""))
    codes = stop_all(containers, timeout=30)
    marks.append((time.time(), "docker container prune, compose up --scale app=2", ""))
    for container in containers:
        container.remove()
    run_docker(*compose, "up", "-d", "--no-build", "--no-recreate", "--scale", "app=2", env=env)
    return codes


def target_of(running: Running) -> ComposeTarget:
    """The stranger's project as the lab's watcher and timeline name it."""
    return load_config().with_overrides(
        project=running.project,
        service=GO.service,
        http_port=running.http_port,
        api_port=running.api_port,
        app_host=GO.host,
        balancer_name=running.balancer,
    )


class ArticlePage(Page):
    """The article's program, broken by its own recipe, then fixed: on its own compose project."""

    def run(self, client: docker.DockerClient, base: ComposeTarget, variant: str) -> Outcome:
        """One variant on a fresh project of the article's program; its figures."""
        outcome = Outcome(self.key, variant)
        extra = (ARTICLE_SETUP,) if variant == BROKEN else ()
        with tempfile.TemporaryDirectory() as tmp, running_stranger(client, GO, Path(tmp), *extra) as running:
            cfg = target_of(running)

            def action() -> object:
                if variant == BROKEN:
                    outcome.exit_codes = the_articles_recipe(client, running, outcome.marks)
                    return None
                done = running.zerodrop(
                    "rollout", "--image", f"{GO.image}:v2", "--log", f"{tmp}/phases.jsonl"
                )
                outcome.notes.append(f"zerodrop rollout exit {done.returncode}")
                outcome.figures["zerodrop exit"] = done.returncode
                outcome.phases = load_phases(Path(tmp) / "phases.jsonl")
                return done

            with watching(client, cfg) as watch:
                measured = measure_under_load(
                    action, running.probe_options(), settle=SETTLE, out=lambda _: None
                )
            outcome.marks += watch.marks
            outcome.probe = measured.probe
            routed_while_stopping(outcome, measured.probe)
        return outcome


def routed_while_stopping(outcome: Outcome, probe: ProbeResult) -> None:
    """How long after `docker stop` requests sent still failed: Traefik routing to the stopping
    containers (the last failed request's start, seconds after the stop)."""
    stops = [at for at, what, _ in outcome.marks if what.startswith("docker stop")]
    failed = [r.start for r in probe.failures if stops and r.start >= stops[0]]
    if failed:
        outcome.figures["failing s after docker stop"] = round(max(failed) - stops[0], 1)


PAGE = ArticlePage(11, "the article's program", variants=(BROKEN, FIXED))
