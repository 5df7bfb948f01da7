"""docs/simulator.md stays honest: every option of ``fleet sim run`` and ``fleet bench
sim``, every setting, fixture, fault kind and alarm sensor is named there."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import typer.main

from fleet.cli.main import app
from sim.body import ALARMS, BodyParams
from sim.robots import FleetOptions
from sim.runner import RunOptions
from sim.scenario import FaultKind
from sim.space import SpaceParams

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text(encoding="utf-8")


def _command(*path: str) -> Any:
    # typer vendors its own click: walk the groups by their ``commands`` mapping
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", [("sim", "run"), ("bench", "sim")])
def test_every_option_is_documented(text: str, path: tuple[str, ...]) -> None:
    options = [o for p in _command(*path).params for o in p.opts if o.startswith("--")]
    assert options
    assert [o for o in options if f"`{o}" not in text and f"{o} " not in text] == []


def test_every_setting_is_documented(text: str) -> None:
    for cls in (RunOptions, FleetOptions, BodyParams, SpaceParams):
        assert f"`{cls.__name__}`" in text
        missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in text]
        assert missing == [], cls.__name__


def test_fixtures_fault_kinds_and_alarms_are_documented(text: str) -> None:
    for fixture in ("sim_manager", "sim_fleet", "sim_run"):
        assert f"`{fixture}(" in text
    for kind in FaultKind:
        assert f"`{kind.value}`" in text
    for sensor in ALARMS:
        assert sensor.upper() in text.upper()
