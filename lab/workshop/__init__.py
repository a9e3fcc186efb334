"""The workshop: each classic failure reproduced on a stack of its own, measured, then fixed.

One module per page of docs/workshop/, each declaring its broken and fixed variants and its
action; `harness` runs them. Every variant runs on a fresh compose project under the probe and
returns an Outcome with the figures. The lab tests assert that each broken variant fails and each
fixed one does not; `python -m lab workshop N` prints the same figures for the pages."""

from __future__ import annotations

from pathlib import Path

import docker

from lab.workshop import (
    keepalive_race,
    p01_recreate_all,
    p02_manual_recipe,
    p03_graceful_alone,
    p04_slow_start,
    p05_short_stop_timeout,
    p06_slow_shutdown_work,
    p09_long_lived,
    p11_article_program,
    p12_replace_traefik,
)
from lab.workshop.harness import BROKEN, FIXED, RECIPE, Outcome, Page
from zerodrop.measure.timeline import plot_timeline
from zerodrop.target import ComposeTarget

__all__ = ["BROKEN", "FIXED", "RECIPE", "SCENARIOS", "Outcome", "Page", "run_scenario"]

SCENARIOS: dict[str, Page] = {
    page.key: page
    for page in (
        p01_recreate_all.PAGE,
        p02_manual_recipe.PAGE,
        p03_graceful_alone.PAGE,
        p04_slow_start.PAGE,
        p05_short_stop_timeout.PAGE,
        p06_slow_shutdown_work.PAGE,
        p09_long_lived.PAGE,
        p11_article_program.PAGE,
        p12_replace_traefik.PAGE,
        keepalive_race.PAGE,
    )
}


def run_scenario(
    client: docker.DockerClient, base: ComposeTarget, key: str, variants: tuple[str, ...], plots: Path | None
) -> list[Outcome]:
    """Run the given variants of one scenario, printing each outcome; optionally plot each."""
    page = SCENARIOS[key]
    outcomes = []
    for variant in variants:
        outcome = page.run(client, base, variant)
        print(outcome.line(), flush=True)
        if plots is not None and outcome.probe is not None:
            png = plots / f"{page.picture_stem}-{variant}.png"
            heading = f"{page.key}. {page.title}, {variant}: {outcome.failed} failed"
            plot_timeline(outcome.probe, outcome.phases, png, title=heading, marks=outcome.marks)
            print(f"    timeline {png}", flush=True)
        outcomes.append(outcome)
    return outcomes
