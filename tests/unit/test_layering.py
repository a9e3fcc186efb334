"""The house rules of the code, read from its imports: floors that only import downwards, no
cycles, the tool never importing the lab, and the rollout engine blind to Docker and Traefik."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from lab.config import REPO_ROOT

# Floors, lowest first. A module may import from its own floor or any floor below it.
FLOORS: tuple[tuple[str, ...], ...] = (
    (
        "zerodrop",
        "zerodrop.errors",
        "zerodrop.model",
        "zerodrop.durations",
        "zerodrop.waits",
        "zerodrop.target",
    ),
    ("zerodrop.rollout", "zerodrop.proxy"),  # the engines: the app's rollout, the proxy's hand-over
    ("zerodrop.adapters",),
    ("zerodrop.measure",),
    ("zerodrop.lint",),
    ("zerodrop.up",),
    ("zerodrop.cli", "zerodrop.__main__"),
    ("lab",),
)
# What the engines must never touch: they see the world only through their platform protocols.
WORLD = ("docker", "requests", "httpx", "aiohttp", "subprocess", "zerodrop.adapters", "zerodrop.measure")


def module_name(path: Path) -> str:
    """zerodrop/rollout/engine.py -> zerodrop.rollout.engine; a package's __init__ -> the package."""
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of zerodrop/ and lab/."""
    return {module_name(p): p for top in ("zerodrop", "lab") for p in sorted((REPO_ROOT / top).rglob("*.py"))}


def imports(path: Path) -> Iterator[str]:
    """Every module a file imports, at any depth of the file (an import inside a function counts)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def within(name: str, prefix: str) -> bool:
    """Whether a dotted name is the module or package `prefix` or inside it."""
    return name == prefix or name.startswith(f"{prefix}.")


def floor(name: str) -> int | None:
    """The floor of one of our modules (the most specific prefix wins), None for a third party."""
    found = [
        (len(prefix), level)
        for level, prefixes in enumerate(FLOORS)
        for prefix in prefixes
        if within(name, prefix)
    ]
    return max(found)[1] if found else None


def internal_imports() -> dict[str, set[str]]:
    """Each of our modules and the modules of ours it imports."""
    known = modules()
    return {
        name: {target for target in imports(path) if target in known and target != name}
        for name, path in known.items()
    }


def test_every_module_has_a_floor():
    assert [name for name in modules() if floor(name) is None] == []


def test_no_module_imports_from_a_floor_above_its_own():
    upward = [
        f"{name} (floor {floor(name)}) imports {target} (floor {floor(target)})"
        for name, targets in internal_imports().items()
        for target in targets
        if (floor(target) or 0) > (floor(name) or 0)
    ]
    assert upward == []


def test_the_tool_imports_nothing_from_the_lab():
    leaks = [
        f"{name}: {target}"
        for name, path in modules().items()
        if within(name, "zerodrop")
        for target in imports(path)
        if within(target, "lab")
    ]
    assert leaks == []


def test_the_rollout_engine_reaches_the_world_only_through_the_platform_protocol():
    leaks = [
        f"{name}: {target}"
        for name, path in modules().items()
        if within(name, "zerodrop.rollout") or within(name, "zerodrop.proxy")
        for target in imports(path)
        if any(within(target, world) for world in WORLD)
    ]
    assert leaks == []


def test_no_import_cycles():
    graph = internal_imports()
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        for target in sorted(graph.get(name, ())):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(name)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    assert cycles == []


def test_the_rules_can_fail():
    """The floors are not vacuous: the engine is below the adapters, the lab on top of all."""
    floors = [
        floor(name) for name in ("zerodrop.rollout.engine", "zerodrop.adapters.docker_platform", "lab.cli")
    ]
    assert floors == [1, 2, 7]
    assert floor("docker") is None and "zerodrop.model" in internal_imports()["zerodrop.rollout.engine"]


MAX_MODULE_LINES = 250
MAX_FUNCTION_LINES = 50


def capped_modules() -> dict[str, Path]:
    """Every module the size caps hold: the tool, the lab, the app and the benches."""
    tops = ("zerodrop", "lab", "app", "bench")
    return {module_name(p): p for top in tops for p in sorted((REPO_ROOT / top).rglob("*.py"))}


def test_no_module_over_250_lines_and_no_function_over_50():
    too_long: list[str] = []
    for name, path in capped_modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []


ENTRY_POINTS = ("zerodrop.cli", "zerodrop.__main__")  # what the `zerodrop` command runs
PROTOCOLS = ("zerodrop.rollout.platform", "zerodrop.adapters.app_control")  # what the lab plugs into


def test_the_tool_holds_only_what_its_commands_reach_and_the_protocols_the_lab_plugs_into():
    """Nothing in zerodrop/ is there for the lab, the benches or the tests alone: every module is
    reached by imports from the command or from the protocols (a package's __init__ comes with
    its modules)."""
    graph = internal_imports()
    reached: set[str] = set()
    todo = [m for m in graph if any(within(m, root) for root in (*ENTRY_POINTS, *PROTOCOLS))]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += [t for t in graph.get(name, ()) if within(t, "zerodrop")]
    packages = {module_name(p) for p in (REPO_ROOT / "zerodrop").rglob("__init__.py")}
    alone = sorted(m for m in graph if within(m, "zerodrop") and m not in reached and m not in packages)
    assert alone == [], f"reached only from the lab, the benches or the tests: {alone}"
