"""Mission files: ``mode: continuous`` and per-task ``revisit``."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.errors import MissionError
from fleet.planning.mission import DEFAULT_REVISIT_S, Mode, mission_from_document
from tests.planning.factories import site

FAC = site([("dock", 0, 0, "dock"), ("a", 10, 0, "inspection"), ("b", 20, 0, "inspection"),
            ("c", 30, 0, "inspection")],
           [("dock", "a"), ("a", "b"), ("b", "c")])


def _doc(*tasks: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"name": "patrol", **top,
            "tasks": [{"sensors": ["ch4"], **t} for t in tasks]}


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(MissionError) as info:
        mission_from_document(doc, file="m.yaml", facility=FAC)
    return [str(p) for p in info.value.problems]


def test_a_mission_is_done_once_by_default_without_revisit() -> None:
    spec = mission_from_document(_doc({"points": ["a", "b"]}), facility=FAC)
    assert spec.mode is Mode.ONCE
    assert all(t.revisit_s is None for t in spec.tasks)


def test_continuous_mission_reads_each_task_revisit() -> None:
    spec = mission_from_document(
        _doc({"points": ["a"], "revisit": "90s"}, {"points": ["b"], "revisit": "1h30m"},
             mode="continuous"), facility=FAC)
    assert spec.mode is Mode.CONTINUOUS
    assert {t.point: t.revisit_s for t in spec.tasks} == {"a": 90.0, "b": 5400.0}


def test_continuous_without_revisit_uses_the_default() -> None:
    spec = mission_from_document(_doc({"points": "*"}, mode="continuous"), facility=FAC)
    assert {t.revisit_s for t in spec.tasks} == {DEFAULT_REVISIT_S}
    assert DEFAULT_REVISIT_S == 3600.0  # missions/README.md says one hour


def test_a_point_of_two_tasks_keeps_the_shortest_revisit() -> None:
    spec = mission_from_document(
        _doc({"points": ["a", "b"], "revisit": "30m"}, {"points": ["b"], "revisit": "2h"},
             {"points": ["c"]}, mode="continuous"), facility=FAC)
    assert {t.point: t.revisit_s for t in spec.tasks} == {
        "a": 1800.0, "b": 1800.0, "c": DEFAULT_REVISIT_S}


@pytest.mark.parametrize("mode", ["forever", 3, True, ["continuous"]])
def test_an_unknown_mode_is_one_line_naming_the_field(mode: object) -> None:
    (line,) = _problems(_doc({"points": ["a"]}, mode=mode))
    assert "mode must be once or continuous" in line


@pytest.mark.parametrize(("revisit", "seconds"), [
    ("1d", 86_400.0), ("1h 30m", 5400.0), ("1.5h", 5400.0), (1800, 1800.0), ("45", 45.0)])
def test_revisit_reads_like_a_schedule_interval(revisit: object, seconds: float) -> None:
    spec = mission_from_document(_doc({"points": ["a"], "revisit": revisit},
                                      mode="continuous"), facility=FAC)
    assert spec.tasks[0].revisit_s == seconds


@pytest.mark.parametrize("revisit", ["soon", "0s", "-5m", "1h1h", "nan", "inf", "5x", 0,
                                     True, ["30m"], {"m": 30}])
def test_a_bad_revisit_is_one_line_naming_the_field(revisit: object) -> None:
    (line,) = _problems(_doc({"points": ["a"], "revisit": revisit, "name": "face"},
                             mode="continuous"))
    assert line.startswith("m.yaml: task face: revisit ")
    assert "duration" in line


def test_revisit_without_continuous_mode_is_an_error() -> None:
    (line,) = _problems(_doc({"points": ["a"], "revisit": "30m"}))
    assert "revisit is for continuous missions only" in line
    (line,) = _problems(_doc({"points": ["a"], "revisit": "30m"}, mode="once"))
    assert "mode: continuous" in line


def test_the_continuous_example_of_missions_readme_loads() -> None:
    from pathlib import Path

    from fleet import yamldoc

    root = Path(__file__).resolve().parents[2] / "missions"
    blocks = (root / "README.md").read_text().split("```yaml\n")[1:]
    (example,) = [b.split("```")[0] for b in blocks if "mode: continuous" in b]
    spec = mission_from_document(yamldoc.parse(example, error=MissionError), base=root)
    assert spec.mode is Mode.CONTINUOUS
    revisits = {t.source: t.revisit_s for t in spec.tasks}
    assert revisits["task face"] == 1200.0 and revisits["task return airway"] == 7200.0


def test_the_manager_reads_the_mode_and_targets_of_a_parsed_mission() -> None:
    from fleet.manager.patrol import continuous, targets

    spec = mission_from_document(
        _doc({"points": ["a"], "revisit": "90s"}, {"points": ["b"]}, mode="continuous"),
        facility=FAC)
    assert continuous(spec)
    assert targets(spec) == {"a": 90.0, "b": DEFAULT_REVISIT_S}
    assert not continuous(mission_from_document(_doc({"points": ["a"]}), facility=FAC))
