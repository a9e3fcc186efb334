"""Every error a command can raise maps to one line and an exit code (lab.cli.ERRORS)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import lab
from lab.cli import ERRORS
from lab.model import LabInputError


def lab_error_classes() -> list[type[BaseException]]:
    """Every LabInputError and RuntimeError subclass defined in a module of lab/."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(lab.__path__, "lab."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__.startswith("lab.") and issubclass(value, LabInputError | RuntimeError):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_review_7_every_error_class_in_lab_maps_to_one_line_and_an_exit_code():
    unmapped = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in lab_error_classes()
        if not any(issubclass(kind, kinds) for kinds, _, _ in ERRORS)
    ]
    assert len(lab_error_classes()) > 10
    assert unmapped == []
