"""The one exception tree: every exception class of :mod:`fleet` is defined in
:mod:`fleet.errors` and drawn in its docstring; the simulator's live in :mod:`sim.errors`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import fleet
import fleet.errors
import sim
import sim.errors


def _modules(package: ModuleType) -> list[ModuleType]:
    names = [package.__name__] + [
        info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        if not info.name.endswith("__main__") and ".migrations." not in info.name]
    return [importlib.import_module(name) for name in names]


def _exceptions(package: ModuleType) -> set[type[BaseException]]:
    found = set()
    for module in _modules(package):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith(
                    package.__name__ + "."):
                found.add(value)
    return found


def test_every_fleet_exception_is_defined_and_drawn_in_fleet_errors() -> None:
    doc = fleet.errors.__doc__ or ""
    for exc in _exceptions(fleet):
        assert exc.__module__ == "fleet.errors", f"{exc.__qualname__} in {exc.__module__}"
        if not exc.__name__.startswith("_"):
            assert f" {exc.__name__}" in doc, f"{exc.__name__} missing from the tree"
        assert issubclass(exc, fleet.errors.FleetError)


def test_every_sim_exception_is_defined_in_sim_errors_below_fleet_error() -> None:
    doc = sim.errors.__doc__ or ""
    found = _exceptions(sim)
    assert sim.errors.ScenarioError in found
    for exc in found:
        assert exc.__module__ == "sim.errors", f"{exc.__qualname__} in {exc.__module__}"
        assert f" {exc.__name__}" in doc
        assert issubclass(exc, fleet.errors.FleetError)


@pytest.mark.parametrize("name", ["ScenarioError", "ChildFailed"])
def test_fleet_does_not_know_the_simulator_errors(name: str) -> None:
    assert not hasattr(fleet.errors, name)
