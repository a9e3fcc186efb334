"""What every workshop page shares: a fresh stack per variant, the probe around the page's action,
the figures (an Outcome), and the helpers actions are made of.

A page declares its number, title, each variant's compose variables (or override file) and its
action; `Page.run` does the rest: stack up, probe baseline, action, probe settles, write verdict,
stack down."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import docker

from lab.compose_lab import private_project
from lab.config import REPO_ROOT
from lab.lab_app import lab_platform
from lab.under_load import default_probe_options, measure_under_load
from lab.workshop.watch import Mark, short_name, watching
from zerodrop.adapters.docker_platform import DockerPlatform
from zerodrop.measure.probe_data import ProbeOptions, ProbeResult
from zerodrop.measure.records import RequestRecord, tally_line
from zerodrop.measure.writes import check_writes, final_write_check
from zerodrop.model import PhaseRecord, Replica
from zerodrop.target import ComposeTarget

BROKEN, FIXED, RECIPE = "broken", "fixed", "recipe"  # recipe: a third variant, the recipe in use
OVERRIDES = REPO_ROOT / "docs" / "workshop" / "overrides"  # per-scenario compose override files


@dataclass
class Outcome:
    """The figures of one variant of one scenario."""

    scenario: str
    variant: str
    probe: ProbeResult | None = None
    exit_codes: list[int | None] = field(default_factory=list)
    acked_writes: int = 0
    lost_writes: int = 0
    notes: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    phases: list[PhaseRecord] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)  # what happened when, for the timeline
    victim_name: str = ""  # the replica the action stopped, as the marks name it

    @property
    def failed(self) -> int:
        """Requests that did not succeed."""
        return len(self.probe.failures) if self.probe else 0

    @property
    def outage_seconds(self) -> float:
        """From the first failed request's start to the last one's end (0 without failures)."""
        return self.probe.outage_seconds if self.probe else 0.0

    def failure_kinds(self) -> dict[str, int]:
        """Failed requests by request kind and error."""
        return self.probe.failure_kinds() if self.probe else {}

    def line(self) -> str:
        """'scenario 1 broken: ok 300, failed 337 (...), outage 14.9s, writes lost 0/120, exits [..]'."""
        parts = [f"scenario {self.scenario} {self.variant}:"]
        if self.probe is not None:
            parts.append(tally_line(self.probe.records).split(" | ")[0] + ",")
            kinds = ", ".join(f"{k} {n}" for k, n in self.failure_kinds().items())
            parts.append(f"({kinds})," if kinds else "")
            parts.append(f"outage {self.outage_seconds:.1f}s,")
        parts.append(f"writes lost {self.lost_writes}/{self.acked_writes},")
        parts.append(f"exit codes {self.exit_codes}")
        figures = ", ".join(f"{k} {v:g}" for k, v in self.figures.items())
        notes = [*self.notes, figures] if figures else list(self.notes)
        if self.probe is not None and (streams := self.probe.streams_report()) is not None:
            notes.append(streams.line())
        return " ".join(p for p in parts if p) + "".join(f"\n    {n}" for n in notes)


@dataclass
class Scene:
    """What a page's action works with: the engine, the variant's stack, its outcome so far."""

    client: docker.DockerClient
    cfg: ComposeTarget
    outcome: Outcome
    victim: Replica | None = None  # the replica the action stops, for figures afterwards
    extra_records: list[RequestRecord] = field(default_factory=list)  # requests sent by the action

    @property
    def variant(self) -> str:
        """broken or fixed."""
        return self.outcome.variant

    def mark(self, command: str) -> None:
        """Note that the action runs a command on the stack now (drawn as a line on the timeline)."""
        self.outcome.marks.append((time.time(), command, ""))

    def platform(self) -> DockerPlatform:
        """The stack's service, as the rollout sees it."""
        return lab_platform(self.client, self.cfg)


Action = Callable[[Scene], None]


def probe_options(cfg: ComposeTarget, *, streams: bool = False) -> ProbeOptions:
    """The workshop's load: the demo's with 50 short requests a second, never over ten minutes;
    streams held open too on the pages about them."""
    return replace(default_probe_options(cfg, duration=600, streams=streams), short_rate=50.0)


@dataclass(frozen=True)
class Page:
    """One workshop page: its number and title, each variant's compose variables (and override
    file), and the action taken under the probe. `after` adds figures once the probe stopped;
    `final_writes(variant)` says whether the write check is the verdict after a graceful stop."""

    number: int  # 0 for a measurement outside the numbered pages, named by its slug
    title: str
    action: Action | None = None
    measure: Callable[[Scene], ProbeResult] | None = None  # instead of the probe around `action`
    variables: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    overrides: Mapping[str, Path] = field(default_factory=dict)
    replicas: int = 2
    after: Callable[[Scene, ProbeResult], None] | None = None
    final_writes: Callable[[str], bool] = lambda _: True
    slug: str = ""
    variants: tuple[str, ...] = (BROKEN, FIXED)  # what `make workshop-N` runs, in order
    streams: bool = False  # the probe holds SSE streams and WebSockets too
    verdict: Callable[[Outcome], list[str]] | None = None  # what the fixed variant missed ([]: it held)

    @property
    def key(self) -> str:
        """How `python -m lab workshop KEY` names the page: its number, or its slug."""
        return self.slug or str(self.number)

    @property
    def picture_stem(self) -> str:
        """Its pictures' file names begin so: 01 ... 06, or the slug."""
        return self.slug or f"{self.number:02d}"

    def run(self, client: docker.DockerClient, base: ComposeTarget, variant: str) -> Outcome:
        """Run one variant on a fresh stack and return its figures."""
        outcome = Outcome(self.key, variant)
        name = f"s{self.key}{variant[0]}"
        variables = self.variables.get(variant, {})
        override = self.overrides.get(variant)
        with private_project(
            client, base, f"zdws-{name}", variables, self.replicas, override=override
        ) as cfg:
            scene = Scene(client, cfg, outcome)
            if self.measure is not None:
                probe = self.measure(scene)
            else:
                action = self.action
                assert action is not None, f"page {self.number} has neither an action nor a measure"
                with watching(client, cfg) as watch:
                    probe = measure_under_load(
                        lambda: action(scene), probe_options(cfg, streams=self.streams), out=quiet
                    ).probe
                outcome.marks += watch.marks
                if scene.victim is not None:
                    outcome.victim_name = short_name(scene.victim.name, cfg.project)
            if self.after is not None:
                self.after(scene, probe)
            return finish(scene, probe, final=self.final_writes(variant))


def quiet(_: str) -> None:
    """Print nothing (the workshop prints each outcome's line instead)."""
    return None


def finish(scene: Scene, probe: ProbeResult, *, final: bool = True) -> Outcome:
    """Record the probe and where every acknowledged write is: by default the verdict, after every
    replica has stopped gracefully; with final=False a progress look (buffered counts as found)."""
    outcome = scene.outcome
    outcome.probe = probe
    check = final_write_check if final else check_writes
    writes = check(scene.client, scene.cfg.project, scene.cfg.service, probe.acked_event_ids())
    outcome.acked_writes, outcome.lost_writes = writes.acked, len(writes.missing)
    return outcome
