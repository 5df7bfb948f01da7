"""The sensor vocabulary (fleet.sensors) and the limit override format
(fleet.limit_overrides): one place for names, units, severities and default limits."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.limit_overrides import limit_problems, read_overrides
from fleet.sensors import (
    DEFAULT_LIMITS,
    SENSORS,
    WIRE_SEVERITIES,
    Severity,
    convert,
    is_concentration,
    unit_name,
    unit_of,
)

ROOT = Path(__file__).resolve().parents[1]


def _fleet_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fleet"):
            found.add(node.module if node.module != "fleet" else
                      f"fleet.{node.names[0].name}")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fleet")}
    return found


@pytest.mark.parametrize(("module", "allowed"), [
    ("fleet/sensors.py", {"fleet.errors"}),
    ("fleet/yamldoc.py", {"fleet.errors"}),
    ("fleet/interlock.py", {"fleet.errors", "fleet.sensors"}),
    ("fleet/limit_overrides.py", {"fleet.errors", "fleet.sensors", "fleet.interlock"}),
])
def test_bottom_layer_modules_import_only_the_bottom(module: str, allowed: set[str]) -> None:
    assert _fleet_imports(ROOT / module) <= allowed


def test_planning_does_not_import_anomaly() -> None:
    for path in (ROOT / "fleet" / "planning").glob("*.py"):
        assert not any(m.startswith("fleet.anomaly") for m in _fleet_imports(path)), path


def test_every_default_limit_is_a_known_sensor_in_its_unit() -> None:
    for name, limits in DEFAULT_LIMITS.items():
        assert name in SENSORS and limits.sensor == name
        assert limits.unit == SENSORS[name].unit
        assert limits.sources and all(len(s) > 20 for s in limits.sources)


def test_units_convert_by_volume_only() -> None:
    assert convert(1.0, "%", "ppm") == pytest.approx(10_000)
    assert convert(24.0, "ppm", "%vol") == pytest.approx(0.0024)
    assert convert(10.0, "%LEL", "%vol") is None
    assert convert(3.0, "dB", "dB") == 3.0
    assert unit_name(" vol% ") == "%vol" and unit_name("lel") == "%LEL"
    assert is_concentration("%") and not is_concentration("°C")
    assert unit_of(" CH4 ") == "%vol" and unit_of("radon") is None


@given(st.floats(min_value=-1e9, max_value=1e9), st.sampled_from(["%vol", "%", "ppm"]),
       st.sampled_from(["%vol", "ppm", "vol%"]))
def test_conversions_go_back_and_forth(value: float, a: str, b: str) -> None:
    there = convert(value, a, b)
    assert there is not None
    back = convert(there, b, a)
    assert back is not None and math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-12)


def test_one_severity_with_its_wire_mapping() -> None:
    assert [s.value for s in Severity] == ["info", "warning", "alarm", "critical"]
    assert WIRE_SEVERITIES == ("INFO", "WARNING", "CRITICAL")
    for wire in WIRE_SEVERITIES:
        assert Severity.from_wire(wire).to_wire() == wire
    with pytest.raises(ProtocolError, match="no wire form"):
        Severity.ALARM.to_wire()
    for bad in ("ALARM", "warning", None, 3):
        with pytest.raises(ProtocolError, match="INFO, WARNING, CRITICAL"):
            Severity.from_wire(bad)


def test_the_protocol_and_the_rules_share_the_severity() -> None:
    from fleet.anomaly.limits import Severity as RulesSeverity
    from fleet.protocol.inspection import Finding
    from fleet.protocol.inspection import Severity as WireSeverity

    assert RulesSeverity is WireSeverity is Severity
    finding = Finding("gas", Severity.CRITICAL, "x", 1.0)
    assert finding.to_json()["severity"] == "CRITICAL"
    assert Finding.from_json(finding.to_json()) == finding
    with pytest.raises(ProtocolError):
        Finding("gas", Severity.ALARM, "x", 1.0)


def test_overrides_check_ids_without_a_site_model() -> None:
    raw = {"ch4": {"warning": 0.8}, "zones": {"z1": {"co": {"alarm": 20}}, "zx": {}},
           "points": {"p9": {"o2": None}}}
    overrides, problems = read_overrides(raw, file="m.yaml", zones={"z1"}, points={"p1"})
    assert overrides.site["ch4"].above == {Severity.WARNING: 0.8}
    assert "z1" in overrides.zones
    assert sorted(p.reason for p in problems) == ["unknown point 'p9'", "unknown zone 'zx'"]
    # without ids, nothing is checked against a site
    assert read_overrides(raw)[1] == []


def test_limit_problems_names_both_files() -> None:
    problems = limit_problems({"ch4": {"alarm": "high"}}, {"radon": {"alarm": 1}},
                              map_file="site.yaml", mission_file="m.yaml")
    assert [p.file for p in problems] == ["site.yaml", "m.yaml"]
    assert "site.meta.limits.ch4" in str(problems[0])
    assert "has no default limits: give its unit" in str(problems[1])


def test_the_simulator_and_the_protocol_speak_the_vocabulary() -> None:
    from fleet.protocol.factsheet import KNOWN_SENSORS
    from sim.body import ALARMS
    from sim.world import DEFAULT_SENSORS

    assert set(KNOWN_SENSORS) == set(SENSORS)
    for name, spec in DEFAULT_SENSORS.items():
        assert spec.unit == SENSORS[name].unit
    assert set(ALARMS) <= set(SENSORS)
