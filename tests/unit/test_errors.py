"""Every error a command can raise is one line and an exit status, from one tree: zerodrop's in
zerodrop/errors.py, and the lab's extension of it in lab/errors.py; the CLIs map it without a
table of their own."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import signal

import pytest

import lab
import zerodrop
from lab import errors as lab_errors
from lab.cli import main
from zerodrop import errors
from zerodrop.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_UNAVAILABLE, RolloutInterrupted, ZerodropError


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of zerodrop/ or lab/, by where it is defined."""
    found: dict[str, type[BaseException]] = {}
    for package in (zerodrop, lab):
        for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module_info.name.endswith("__main__"):
                continue
            module = importlib.import_module(module_info.name)
            for _, value in inspect.getmembers(module, inspect.isclass):
                if value.__module__ == module.__name__ and issubclass(value, BaseException):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_exception_class_lives_in_one_of_the_two_error_modules():
    classes = exception_classes()
    assert len(classes) > 20
    assert {name.rsplit(".", 1)[0] for name in classes} == {"zerodrop.errors", "lab.errors"}
    assert all(issubclass(kind, ZerodropError) for name, kind in classes.items() if name.startswith("lab."))


def test_every_error_says_its_exit_status_and_is_drawn_in_the_tree():
    tree = (errors.__doc__ or "") + (lab_errors.__doc__ or "")
    for name, kind in exception_classes().items():
        if kind is errors.Reclaimed:
            continue
        if kind is errors.UsageExit:  # argparse's exit: drawn beside the tree, exit status 2
            assert " UsageExit" in tree and errors.UsageExit("x").code == EXIT_BAD_INPUT
            continue
        assert issubclass(kind, ZerodropError), name
        assert kind.exit_code in {EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE}, name
        assert (kind.exit_code == EXIT_UNAVAILABLE) == issubclass(kind, errors.Unavailable), name
        assert f" {kind.__name__}" in tree, f"{name} is missing from the tree in zerodrop/errors.py"
    assert RolloutInterrupted(signal.SIGTERM).exit_code == 143


@pytest.mark.parametrize(
    ("error", "status", "line"),
    [
        (errors.ConfigError("APP_REPLICAS must be a whole number"), 2, "lab: bad setting: APP_REPLICAS"),
        (errors.RolloutLocked("held by pid 1"), 2, "lab: held by pid 1"),
        (errors.ComposeError("compose up failed"), 1, "lab: compose up failed"),
        (errors.WaitTimeout("no answer"), 1, "lab: no answer"),
        (errors.RolloutFailed("new replica never healthy"), 1, "lab: rollout stopped: new replica never"),
        (RolloutInterrupted(signal.SIGINT), 130, "lab: rollout stopped: interrupted by SIGINT"),
    ],
)
def test_the_cli_prints_one_line_and_exits_with_the_class_status(monkeypatch, capsys, error, status, line):
    def fail(cfg, args):
        raise error

    monkeypatch.setattr("lab.cli.cmd_status", fail)
    monkeypatch.setattr("lab.cli.load_config", lambda: None)
    assert main(["status"]) == status
    printed = capsys.readouterr().err.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith(line)
