"""Scenario files: the samples load, broken files give our error, random documents too."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.cli.main import error_lines
from fleet.errors import FleetError
from fleet.facility.fixed_sensors import fixed_sensors
from sim.errors import ScenarioError
from sim.scenario import FaultKind, Scenario, load_scenario, scenario_from_document
from sim.world import DEFAULT_SENSORS, GasLeak, HotSpot, World
from tests.sim.factories import SCENARIOS, TINY_MAP

MAPS = TINY_MAP.parent
TINY_FLEET = {
    "classes": [{"name": "c", "speed": 1.0, "battery_wh": 100, "wh_per_metre": 0.1,
                 "wh_per_second": 0.01, "charge_w": 100, "sensors": ["ch4", "o2"]}],
    "robots": [{"manufacturer": "m", "serial": "R1", "class": "c", "dock": "dock"}],
}


def _tiny(**fields: Any) -> dict[str, Any]:
    return {"map": "tiny.yaml", "fleet": TINY_FLEET, **fields}


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_document(doc, file="s.yaml", base=MAPS)
    return [p.reason for p in info.value.problems]


@pytest.mark.parametrize(("name", "robots"), [("coal_mine_baseline", 5),
                                             ("coal_mine_methane_leak", 5),
                                             ("chemical_plant_h2s_leak", 4)])
def test_samples_load(name: str, robots: int) -> None:
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    assert s.mission is not None and s.mission.tasks
    assert len(s.fleet.robots) == robots
    assert s.map_path is not None and s.map_path.is_file()
    assert s.link.latency_ms > 0 and 0 < s.link.loss < 0.05
    assert all(r.dock in s.facility.nodes for r in s.fleet.robots)


def test_methane_leak_sample() -> None:
    s = load_scenario(SCENARIOS / "coal_mine_methane_leak.yaml")
    (leak,) = s.world.sources
    assert isinstance(leak, GasLeak) and leak.sensor == "ch4"
    assert "face" in s.facility.node(leak.node).tags
    (kill,) = s.faults
    assert kill.kind is FaultKind.KILL and kill.robot in {r.serial for r in s.fleet.robots}
    assert s.faults_of(kill.robot) == (kill,)
    assert s.world.sensors["ch4"].background_at(frozenset({"intake"})) == 0.05


def test_chemical_plant_sample() -> None:
    s = load_scenario(SCENARIOS / "chemical_plant_h2s_leak.yaml")
    kinds = {type(x) for x in s.world.sources}
    assert kinds == {GasLeak, HotSpot}
    assert s.faults == ()


def test_a_broken_file_gives_one_located_line(tmp_path: Path) -> None:
    doc = (SCENARIOS / "coal_mine_methane_leak.yaml").read_text()
    doc = doc.replace("node: face-10", "node: face-99")
    target = tmp_path / "broken.yaml"
    target.write_text(doc.replace("../../", str(SCENARIOS.parents[1]) + "/"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(target)
    lines = error_lines(info.value)
    assert len(lines) == 1
    line_no = next(i for i, text in enumerate(doc.splitlines(), 1) if "face-99" in text)
    assert lines[0] == (f"{target}:{line_no}: source gas_leak: unknown node 'face-99'")
    assert isinstance(info.value, ValueError) and isinstance(info.value, FleetError)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("map: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(bad)


@pytest.mark.parametrize(("doc", "reason"), [
    ({"fleet": TINY_FLEET}, "needs the map"),
    ({"map": "nowhere.yaml", "fleet": TINY_FLEET}, "no such file"),
    ({"map": "tiny.yaml"}, "needs a fleet"),
    (_tiny(seed=1.5), "seed must be a whole number"),
    (_tiny(seed=-1), "seed must be a whole number from 0"),
    (_tiny(seed=10**5000), "seed must be a whole number from 0"),
    (_tiny(colour="red"), "unknown field 'colour'"),
    (_tiny(fleet={"robots": [{"manufacturer": "m", "serial": "X", "class": "c",
                              "dock": "dock"}]}), "unknown robot class"),
    (_tiny(fleet={**TINY_FLEET, "robots": [{"manufacturer": "m", "serial": "X", "class": "c",
                                            "dock": "nowhere"}]}), "is not on the map"),
    (_tiny(world={"sources": [{"kind": "gas_leak", "sensor": "thermal", "node": "p1",
                               "peak": 1, "decay_m": 5}]}), "a gas leak raises a concentration"),
    (_tiny(world={"sources": [{"kind": "gas_leak", "sensor": "ch4", "node": "p1",
                               "peak": 1}]}), "missing decay_m"),
    (_tiny(world={"sources": [{"kind": "gas_leak", "sensor": "ch4", "node": "p1",
                               "peak": -1, "decay_m": 5}]}), "peak must be a positive"),
    (_tiny(world={"sources": [{"kind": "volcano"}]}), "source kind must be one of"),
    (_tiny(world={"sources": [{"kind": "o2_deficiency", "node": "p1", "zone": "dead",
                               "o2": 18}]}), "exactly one of node and zone"),
    (_tiny(world={"sources": [{"kind": "o2_deficiency", "zone": "nozone", "o2": 18}]}),
     "unknown zone"),
    (_tiny(world={"sources": [{"kind": "hot_spot", "node": "p1", "peak_c": 90,
                               "start_s": "soon"}]}), "start_s must be a number"),
    (_tiny(world={"sensors": {"nh3": {"background": 1}}}), "needs its unit"),
    (_tiny(world={"sensors": {"nh3": {"unit": "ppm"}}}), "needs its range"),
    (_tiny(world={"sensors": {"ch4": {"background": 150}}}), "outside the range"),
    (_tiny(world={"sensors": {"ch4": {"by_tag": {"face": "high"}}}}), "face must be a number"),
    (_tiny(world={"sensors": {"ch4": {"sigma": -1}}}), "sigma must be ≥ 0"),
    (_tiny(link={"loss": 2}), "loss must be a probability"),
    (_tiny(link={"latency_ms": 10**400}), "latency_ms must be a finite number"),
    (_tiny(faults=[{"at": 5, "robot": "R9", "kind": "kill"}]), "unknown robot 'R9'"),
    (_tiny(faults=[{"at": 5, "robot": "R1", "kind": "explode"}]), "fault kind must be one of"),
    (_tiny(faults=[{"at": -5, "robot": "R1", "kind": "kill"}]), "at must be ≥ 0"),
    (_tiny(faults=[{"at": 5, "robot": "R1", "kind": "sensor_drift",
                    "params": {"sensor": "ch4"}}]), "needs params.per_hour"),
    (_tiny(faults=[{"at": 5, "robot": "R1", "kind": "sensor_fail",
                    "params": {"sensor": "h2s"}}]), "carries no h2s sensor"),
    (_tiny(faults=[{"at": 5, "robot": "R1", "kind": "battery_drain",
                    "params": {"factor": 0}}]), "factor must be positive"),
    (_tiny(faults=[{"at": 5, "robot": "R1", "kind": "stuck",
                    "params": {"sensor": "ch4"}}]), "unknown field 'sensor' in stuck params"),
    (_tiny(world={"sources": [{"kind": "gas_leak", "sensor": "ch4", "node": "p1", "peak": 1,
                               "decay_m": 5, "start_s": 100, "end_s": 50}]}),
     "end_s must be a number after start_s"),
    (_tiny(supervisor=[{"at": 5, "action": "reset", "robot": "R9", "note": "x"}]),
     "unknown robot 'R9'"),
    (_tiny(supervisor=[{"at": 5, "action": "explode"}]), "supervisor action must be one of"),
    (_tiny(supervisor=[{"at": 5, "action": "reset", "robot": "R1"}]), "missing note"),
    (_tiny(supervisor=[{"at": -1, "action": "reset", "note": "x"}]), "at must be ≥ 0"),
    (_tiny(supervisor=[{"at": 5, "action": "reopen", "closure": "x", "note": "x"}]),
     "closure must be a closure's number"),
    (_tiny(supervisor=[{"at": 5, "action": "launch", "mission": "nowhere.yaml"}]),
     "no mission file"),
    (_tiny(supervisor=[{"at": 5, "action": "clear", "robot": "R1", "note": "x", "oops": 1}]),
     "unknown field 'oops' in supervisor clear"),
    (_tiny(sensors=[{"id": "T1", "sensor": "ch4", "node": "nowhere"}]), "nowhere"),
])
def test_each_problem_is_reported(doc: dict[str, Any], reason: str) -> None:
    problems = _problems(doc)
    assert any(reason in p for p in problems), problems


def test_a_mission_without_a_fleet_needs_one(tmp_path: Path) -> None:
    mission = tmp_path / "m.yaml"
    mission.write_text(f"map: {TINY_MAP}\ntasks:\n  - {{points: [p1], sensors: [ch4]}}\n")
    doc = {"map": str(TINY_MAP), "mission": "m.yaml"}
    with pytest.raises(ScenarioError, match="needs a fleet"):
        scenario_from_document(doc, file="s.yaml", base=tmp_path)
    s = scenario_from_document({**doc, "fleet": TINY_FLEET}, file="s.yaml", base=tmp_path)
    assert s.mission is not None and [t.point for t in s.mission.tasks] == ["p1"]


def test_integers_too_long_to_print_are_reported_not_raised() -> None:
    huge = 10**5000  # str() of it raises ValueError in Python >= 3.11
    problems = _problems(_tiny(
        name=huge, seed=huge, link={"loss": huge},
        world={"sensors": {huge: {}, "ch4": {"by_tag": {huge: 1}}},
               "sources": [{"kind": "hot_spot", "node": huge, "peak_c": 90}]},
        faults=[{"at": huge, "robot": huge, "kind": "kill"}], **{str(7): huge}))
    assert len(problems) >= 8
    assert all("too long to show" in p or "must be" in p or "unknown field" in p
               for p in problems), problems


def test_every_problem_at_once() -> None:
    problems = _problems(_tiny(seed="x", link={"loss": 3},
                               faults=[{"at": 1, "robot": "R9", "kind": "kill"}]))
    assert len(problems) == 3


def test_inline_fleet_and_faults() -> None:
    s = scenario_from_document(_tiny(
        seed=4, faults=[
            {"at": 10, "robot": "R1", "kind": "sensor_drift",
             "params": {"sensor": "ch4", "per_hour": 0.5}},
            {"at": 0, "robot": "R1", "kind": "battery_drain", "params": {"factor": 2.5}},
            {"at": 3, "robot": "R1", "kind": "kill", "params": {"duration_s": 60}},
        ]), file="inline.yaml", base=MAPS)
    assert isinstance(s, Scenario) and s.name == "inline" and s.seed == 4
    assert [r.serial for r in s.fleet.robots] == ["R1"]
    assert [f.kind for f in s.faults_of("R1")] == [
        FaultKind.BATTERY_DRAIN, FaultKind.KILL, FaultKind.SENSOR_DRIFT]
    kill = s.faults_of("R1")[1]
    assert kill.active(3) and kill.active(62.9) and not kill.active(63) and not kill.active(2)
    assert s.world.sensors == DEFAULT_SENSORS


def test_readme_documents_every_sensor_and_its_examples_load() -> None:
    readme = (SCENARIOS / "README.md").read_text()
    for name, spec in DEFAULT_SENSORS.items():
        assert re.search(rf"\| `{name}` \| `{re.escape(spec.unit)}` \|", readme), name
    for kind in FaultKind:
        assert f"| `{kind.value}` |" in readme
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    faults = next(yaml.safe_load(b) for b in blocks if b.startswith("faults:"))
    sources = [src for b in blocks if b.startswith("- {kind:") for src in yaml.safe_load(b)]
    doc = yaml.safe_load((SCENARIOS / "coal_mine_baseline.yaml").read_text())
    doc["faults"] = faults["faults"]
    doc["world"]["sources"] = [s for s in sources if s.get("node") != "k-101a"]  # plant
    s = scenario_from_document(doc, file="readme", base=SCENARIOS)
    assert len(s.faults) == 5
    assert [type(x).__name__ for x in s.world.sources] == [
        "GasLeak", "O2Deficiency", "O2Deficiency"]


# ---------------------------------------------------------------- property-based
_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=8) | st.integers(), inner, max_size=3),
    max_leaves=6)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = _junk,
            ) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, else ``bad``: documents mostly valid, so that the
    deeper checks run too."""
    return st.integers(0, 9).flatmap(lambda i: bad if i == 0 else good)


_number = _mostly(st.integers(0, 100) | st.floats(0, 1e4),
                  st.integers(-10, 10**6) | st.floats() | st.just(10**400) | _junk)
_prob = _mostly(st.floats(0, 1), _number)
_node = _mostly(st.sampled_from(["p1", "p2", "dock", "a"]), st.sampled_from(["nowhere", 7]))
_source = st.one_of(
    st.fixed_dictionaries({"kind": st.just("gas_leak"), "node": _node, "peak": _number,
                           "decay_m": _number,
                           "sensor": _mostly(st.sampled_from(["ch4", "h2s", "lel"]),
                                             st.sampled_from(["thermal", "nh3"]) | _junk)},
                          optional={"start_s": _number, "ramp_s": _number,
                                    "growth_per_h": _number, "extra": _junk}),
    st.fixed_dictionaries({"kind": st.just("hot_spot"), "node": _node, "peak_c": _number},
                          optional={"decay_m": _number, "start_s": _number}),
    st.fixed_dictionaries({"kind": st.just("o2_deficiency"), "o2": _number},
                          optional={"node": _node, "decay_m": _number,
                                    "zone": st.sampled_from(["dead", "face-gas", "x"])}),
    _junk)
_sensor = st.fixed_dictionaries({}, optional={
    "unit": _mostly(st.sampled_from(["ppm", "%vol"]), st.just("") | _junk),
    "background": _number, "sigma": _number,
    "by_tag": _mostly(st.dictionaries(st.sampled_from(["face", "return"]), _number,
                                      max_size=2)),
    "range": _mostly(st.tuples(_number, _number).map(list))})
_fault = st.fixed_dictionaries(
    {"at": _number, "robot": _mostly(st.just("R1"), st.just("R2") | _junk),
     "kind": _mostly(st.sampled_from([k.value for k in FaultKind]))},
    optional={"params": _mostly(st.dictionaries(
        st.sampled_from(["sensor", "per_hour", "factor", "duration_s", "x"]),
        _mostly(st.sampled_from(["ch4", "o2", "h2s"]) | _number), max_size=3))})
_document = st.fixed_dictionaries(
    {"map": _mostly(st.just("tiny.yaml"), st.sampled_from(["nowhere.yaml", "a\0b", ""])),
     "fleet": _mostly(st.just(TINY_FLEET), st.sampled_from(["nowhere.yaml", "tiny.yaml"]))},
    optional={
        "name": _mostly(st.text(min_size=1, max_size=8)), "seed": _mostly(st.integers()),
        "world": _mostly(st.fixed_dictionaries({}, optional={
            "sensors": _mostly(st.dictionaries(st.sampled_from(["ch4", "o2", "nh3"]),
                                               _sensor, max_size=2)),
            "sources": _mostly(st.lists(_source, max_size=3))})),
        "link": _mostly(st.fixed_dictionaries({}, optional={
            "latency_ms": _number, "jitter_ms": _number, "loss": _prob})),
        "faults": _mostly(st.lists(_fault, max_size=3)),
        "mission": st.sampled_from(["nowhere.yaml", "tiny.yaml"]) | _junk,
    })


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mostly(_document))
def test_random_documents_give_a_scenario_or_our_error(doc: object) -> None:
    try:
        s = scenario_from_document(doc, file="random.yaml", base=MAPS)
    except ScenarioError as exc:
        assert exc.problems and all(p.reason for p in exc.problems)
        assert all("\n" not in line for line in error_lines(exc))
        return
    assert isinstance(s, Scenario)
    assert s.fleet.robots or s.mission is not None
    world = World(s.facility, s)  # whatever loads, the world model can read
    for sensor in world.sensors:
        for node in s.facility.nodes:
            value, _ = world.measure(sensor, node, 3600.0, robot="R1")
            spec = world.spec(sensor)
            assert math.isnan(value) or spec.low <= value <= spec.high


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_random_text_files(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    target = tmp_path_factory.mktemp("s") / "random.yaml"
    target.write_text(text, encoding="utf-8")
    try:
        load_scenario(target)
    except ScenarioError as exc:
        assert exc.problems


def test_a_fleet_not_rated_for_the_site_is_one_line_per_class() -> None:
    mine = str(SCENARIOS.parents[1] / "maps" / "coal_mine.yaml")
    fleet = {**TINY_FLEET, "classes": [{**TINY_FLEET["classes"][0], "epl": "Gb"}],
             "robots": [{"manufacturer": "m", "serial": "R1", "class": "c", "dock": "dock-01"}]}
    assert _problems({"map": mine, "fleet": fleet}) == [
        "robot class c is rated Gb: a coal mine (group I) needs Ma or Mb on every robot "
        "underground (IEC 60079-0)"]


def test_supervisor_actions_end_s_and_sensors_are_read() -> None:
    s = scenario_from_document(_tiny(
        world={"sources": [{"kind": "gas_leak", "sensor": "ch4", "node": "p1", "peak": 1,
                            "decay_m": 5, "end_s": 60}]},
        sensors=[{"id": "T-P1", "sensor": "ch4", "node": "p1"}],
        supervisor=[{"at": 90, "action": "launch", "mission": "../missions/tiny_patrol.yaml"},
                    {"at": 30, "action": "reset", "robot": "R1", "note": "reset"},
                    {"at": 40, "action": "reopen", "closure": "C-2", "note": "ok",
                     "by": "ann"}]), file="s.yaml", base=MAPS)
    (leak,) = s.world.sources
    assert (leak.strength(59.9), leak.strength(60.0)) == (1.0, 0.0)
    world = World(s.facility, s)
    assert world.expected("ch4", "p1", 70.0) < world.expected("ch4", "p1", 50.0)
    assert [a.action.value for a in s.supervisor] == ["reset", "reopen", "launch"]
    reset, reopen, launch = s.supervisor
    assert (reset.robot, reset.note, reset.by) == ("R1", "reset", "simulated supervisor")
    assert (reopen.closure, reopen.by) == (2, "ann")
    assert launch.mission is not None and launch.mission.is_file()
    assert [x.id for x in fixed_sensors(s.facility)][-1] == "T-P1"
