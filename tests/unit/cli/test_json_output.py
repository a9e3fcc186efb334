"""`zerodrop COMMAND --json`: stdout carries only JSON lines, each valid against the documented
schema (docs/zerodrop-output.schema.json), the last one result whose exit_code is the command's
exit status. Run as a user runs it, on the example's real compose files; what needs an engine
or a Traefik is asked of ones that do not answer (the lab's tests hold rollouts that do)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "own-service"
SCHEMA = json.loads((REPO_ROOT / "docs" / "zerodrop-output.schema.json").read_text(encoding="utf-8"))
FILES = ["-f", "compose.yml", "-f", "compose.prod.yml"]
NOWHERE = ["--traefik-api", "http://127.0.0.1:1"]  # nothing listens on port 1
NO_ENGINE = "unix:///nonexistent.sock"


def json_lines(home: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """Run `zerodrop ARGS --json` in the example's folder (HOME: `home`): its exit status and its
    stdout, every line checked against the schema, exactly one result, and that one last."""
    done = subprocess.run(
        [sys.executable, "-m", "zerodrop", *args, "--json"],
        capture_output=True, text=True, timeout=120, cwd=EXAMPLE, check=False,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "DOCKER_HOST": NO_ENGINE},
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    for line in lines:
        jsonschema.validate(line, SCHEMA)
    assert [line["event"] for line in lines].count("result") == 1 and lines[-1]["event"] == "result"
    assert lines[-1]["exit_code"] == done.returncode
    return done.returncode, lines


def test_lint_on_clean_files_is_one_result_with_no_findings(tmp_path):
    status, lines = json_lines(tmp_path, "lint", *FILES)
    assert status == 0 and lines[-1]["outcome"] == "clean" and lines[-1]["findings"] == []


def test_lint_findings_carry_their_rule_code_and_ignore_leaves_one_out(tmp_path):
    status, lines = json_lines(tmp_path, "lint", "-f", "compose.yml")
    codes = [finding["code"] for finding in lines[-1]["findings"]]
    assert status == 1 and lines[-1]["outcome"] == "traps" and codes == ["grace-drain"]
    status, lines = json_lines(tmp_path, "lint", "-f", "compose.yml", "--ignore", "grace-drain")
    assert status == 0 and lines[-1]["findings"] == []


@pytest.mark.parametrize(
    ("args", "status", "kind"),
    [
        (["rollout", "nosuch", *FILES], 2, "RolloutInputError"),
        (["rollout", "api", *FILES, "--traefik-api", "http://10.0.0.1:8080"], 2, "RolloutInputError"),
        (["rollout", "api", *FILES, *NOWHERE], 5, "TraefikUnavailable"),
        (["rollback", "api", *FILES, *NOWHERE], 5, "TraefikUnavailable"),
        (["status", "api", *FILES, *NOWHERE], 5, "TraefikUnavailable"),
        (["recover", "api", *FILES, *NOWHERE], 5, "TraefikUnavailable"),
        (["rollout", "api", "--max-surge", "two"], 2, "UsageError"),
        (["rollout"], 2, "UsageError"),
        (["up", "nosuch", *FILES], 2, "RolloutInputError"),
        (["up", *FILES], 5, "DockerUnavailable"),
        (["up", *FILES, "--max-parallel", "0"], 2, "UsageError"),
        (["rollout-proxy", *FILES], 2, "RolloutInputError"),
        (["rollout-proxy", "--traefik-api", "container:traefik"], 2, "RolloutInputError"),
    ],
)
def test_a_refusal_is_an_error_object_then_the_result(tmp_path, args, status, kind):
    code, lines = json_lines(tmp_path, *args)
    errors = [line for line in lines if line["event"] == "error"]
    assert code == status and [e["kind"] for e in errors] == [kind]
    assert lines[-1]["outcome"] == ("refused" if status == 2 else "unavailable")
    if args[0] in ("rollout", "rollback") and kind != "UsageError":
        assert {"project", "from", "to", "seconds", "cut"} <= set(lines[-1])


def test_a_finished_rollouts_result_carries_the_tools_own_cost_in_the_schema(capsys):
    """The result of a rollout that finished: seconds, replaced, phase log and what the rollout
    itself used (its CPU, its commands' CPU, its peak memory), valid against the schema."""
    from types import SimpleNamespace

    from zerodrop.cli.output import Output
    from zerodrop.cli.rollout_report import report_result
    from zerodrop.rollout.result import RolloutResult
    from zerodrop.rollout.tool_cost import ToolCost, Usage

    cost = ToolCost.since(Usage(0.0, 0.0))
    result = RolloutResult([("app-1", "app-3")], 12.5, [], overlap=True, cost=cost)
    found = SimpleNamespace(spec=SimpleNamespace(image="shop:v2", name="api"))
    out = Output(
        json=True,
        context={
            "command": "rollout",
            "service": "api",
            "project": "shop",
            "from": "shop:v1",
            "to": "shop:v2",
        },
    )
    status = report_result(result, found, SimpleNamespace(image="shop:v2"), Path("phases.jsonl"), out)  # type: ignore[arg-type]
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    jsonschema.validate(line, SCHEMA)
    assert status == 0 and line["tool"]["cpu_seconds"] >= 0 and line["tool"]["peak_memory_mib"] > 0
