"""The world model: backgrounds, sources along corridors, noise, faults, determinism."""

from __future__ import annotations

import math
import statistics

import pytest

from sim.scenario import Fault, FaultKind, Scenario, load_scenario
from sim.world import (
    DEFAULT_SENSORS,
    METHANE_LEL_VOL,
    GasLeak,
    HotSpot,
    O2Deficiency,
    SensorSpec,
    World,
    WorldSpec,
)
from tests.sim.factories import SCENARIOS, scenario_on, u_bend


@pytest.fixture(scope="module")
def leak_scenario() -> Scenario:
    return load_scenario(SCENARIOS / "coal_mine_methane_leak.yaml")


@pytest.fixture(scope="module")
def leak_world(leak_scenario: Scenario) -> World:
    return World(leak_scenario.facility, leak_scenario)


def test_same_seed_same_readings_whatever_the_order(leak_scenario: Scenario) -> None:
    a = World(leak_scenario.facility, leak_scenario)
    b = World(leak_scenario.facility, leak_scenario)
    points = leak_scenario.facility.inspection_points[:30]
    first = {(p, s): a.measure(s, p, 120.0, robot="CR-01", visit=2)
             for p in points for s in ("ch4", "co", "o2")}
    # another world, other robots reading in between, reverse order: identical values
    second = {}
    for p in reversed(points):
        for s in ("o2", "co", "ch4"):
            b.measure(s, p, 120.0, robot="RS-01")
            second[(p, s)] = b.measure(s, p, 120.0, robot="CR-01", visit=2)
    assert first == second


def test_noise_depends_on_seed_robot_and_visit(leak_scenario: Scenario) -> None:
    world = World(leak_scenario.facility, leak_scenario)
    other = World(leak_scenario.facility,
                  scenario_on(leak_scenario.facility, *leak_scenario.world.sources, seed=8))
    p, t = "di-ch4", 60.0
    base = world.measure("co", p, t, robot="CR-01")[0]
    assert other.measure("co", p, t, robot="CR-01")[0] != base
    assert world.measure("co", p, t, robot="CR-02")[0] != base
    assert world.measure("co", p, t, robot="CR-01", visit=1)[0] != base
    # ... but only by noise: every value within 6 sigma of the model
    sigma = world.spec("co").sigma
    for v in (base, other.measure("co", p, t, robot="CR-01")[0]):
        assert abs(v - world.expected("co", p, t)) < 6 * sigma


def test_noise_has_the_documented_sigma(leak_world: World) -> None:
    values = [leak_world.measure("o2", "di-ch4", 0.0, robot="X", visit=i)[0]
              for i in range(2000)]
    assert statistics.fmean(values) == pytest.approx(20.9, abs=0.01)
    assert statistics.stdev(values) == pytest.approx(DEFAULT_SENSORS["o2"].sigma, rel=0.1)


def test_units(leak_world: World) -> None:
    units = {s: leak_world.measure(s, "face-05", 0.0, robot="X")[1]
             for s in ("ch4", "co", "o2", "h2s", "lel", "temperature", "thermal", "co2",
                       "acoustic")}
    assert units == {"ch4": "%vol", "co": "ppm", "o2": "%vol", "h2s": "ppm", "lel": "%LEL",
                     "temperature": "°C", "thermal": "°C", "co2": "%vol", "acoustic": "dB"}
    with pytest.raises(KeyError, match="unknown sensor 'nh3'"):
        leak_world.reading("nh3", "face-05", 0.0)
    with pytest.raises(KeyError, match="nowhere"):
        leak_world.reading("ch4", "nowhere", 0.0)


def test_leak_decays_along_corridors_not_straight_lines() -> None:
    fac = u_bend()
    world = World(fac, scenario_on(fac, GasLeak(sensor="ch4", node="src", peak=2.0,
                                                decay_m=50.0)))
    bg = DEFAULT_SENSORS["ch4"].background
    assert world.expected("ch4", "src", 0) == pytest.approx(bg + 2.0)
    assert world.expected("ch4", "spur", 0) == pytest.approx(bg + 2.0 * math.exp(-60 / 50))
    # 20 m away in a straight line, 220 m round the pillar: reads like 220 m
    assert world.expected("ch4", "near", 0) == pytest.approx(bg + 2.0 * math.exp(-220 / 50))
    assert world.expected("ch4", "near", 0) < world.expected("ch4", "spur", 0)
    # the closed door blocks the short way; the long way round is 580 m
    assert world.expected("ch4", "door", 0) == pytest.approx(bg, abs=1e-4)
    assert world.distance(0, "near") == pytest.approx(220.0)
    assert world.distance(0, "door") == math.inf  # beyond 30 decay lengths


def test_expected_above_picks_the_points_near_the_leak(leak_world: World) -> None:
    above = leak_world.expected_above("ch4", 1.0)
    assert above == {"face-08", "face-09", "face-10", "tg-uc"}
    assert leak_world.expected("ch4", "face-10", 0.0) == pytest.approx(2.0, abs=0.05)
    # what robots actually read agrees with the model at every inspection point
    for p in leak_world.facility.inspection_points:
        value, _ = leak_world.measure("ch4", p, 300.0, robot="CR-01")
        assert (value > 1.0) == (p in above), p
    assert leak_world.expected_above("ch4", 5.0) == set()


def test_baseline_is_realistic_and_quiet() -> None:
    s = load_scenario(SCENARIOS / "coal_mine_baseline.yaml")
    world = World(s.facility, s)
    assert world.expected_above("ch4", 1.0) == set()
    ch4 = {p: world.expected("ch4", p, 0) for p in s.facility.inspection_points}
    assert all(0.05 <= v <= 0.45 for v in ch4.values())  # methane in a coal mine is not zero
    assert ch4["di-ch4"] == pytest.approx(0.05)  # intake
    assert ch4["dr-ch4-1"] == pytest.approx(0.2)  # return
    assert ch4["tg-uc"] == pytest.approx(0.45)  # first listed tag wins: upper-corner
    assert world.expected("o2", "di-ch4", 0) == pytest.approx(20.9)
    assert world.expected_below("o2", 19.5) == set()
    assert 1.0 <= world.expected("co", "mr-ch4-1", 0) <= 10.0


def test_lel_sees_methane(leak_world: World) -> None:
    ch4 = leak_world.expected("ch4", "face-10", 0.0)
    assert leak_world.expected("lel", "face-10", 0.0) == pytest.approx(
        ch4 / METHANE_LEL_VOL * 100.0)


def test_a_leak_displaces_oxygen() -> None:
    fac = u_bend()
    world = World(fac, scenario_on(fac, GasLeak(sensor="co2", node="src", peak=10.0,
                                                decay_m=50.0)))
    assert world.expected("o2", "src", 0) == pytest.approx(20.9 * 0.9)
    co2_near = 10.0 * math.exp(-220 / 50)
    assert world.expected("o2", "near", 0) == pytest.approx(20.9 * (1 - co2_near / 100))


def test_hot_spot_on_the_compressor() -> None:
    s = load_scenario(SCENARIOS / "chemical_plant_h2s_leak.yaml")
    world = World(s.facility, s)
    assert world.expected("thermal", "k-101a", 0) == pytest.approx(110.0)
    assert world.expected("thermal", "k-101b", 0) == pytest.approx(60.0, abs=0.1)
    assert world.expected_above("thermal", 80.0) == {"k-101a"}
    assert world.expected_above("h2s", 7.0) == {"p-102a", "p-102b"}
    assert world.expected("h2s", "p-102a", 0) == pytest.approx(40.2)


def test_oxygen_deficiency_around_a_node_and_in_a_zone() -> None:
    fac = u_bend()
    world = World(fac, scenario_on(
        fac, O2Deficiency(node="spur", o2=17.0, decay_m=10.0),
        O2Deficiency(zone="pocket", o2=19.0)))
    assert world.expected("o2", "spur", 0) == pytest.approx(17.0)
    assert world.expected("o2", "dock", 0) == pytest.approx(20.9 - 3.9 * math.exp(-2))
    assert world.expected("o2", "b", 0) == pytest.approx(19.0)  # inside the zone
    assert world.expected("o2", "near", 0) == pytest.approx(20.9)
    assert world.expected_below("o2", 19.5) == {"spur", "b"}


def test_sources_start_ramp_and_grow() -> None:
    fac = u_bend()
    leak = GasLeak(sensor="h2s", node="src", peak=20.0, decay_m=50.0, start_s=600.0,
                   ramp_s=100.0, growth_per_h=0.5)
    world = World(fac, scenario_on(fac, leak))
    assert world.expected("h2s", "src", 599.0) == 0.0
    assert world.expected("h2s", "src", 650.0) == pytest.approx(10.0)
    assert world.expected("h2s", "src", 700.0) == pytest.approx(20.0)
    assert world.expected("h2s", "src", 700.0 + 3600.0) == pytest.approx(30.0)
    assert world.full_strength_at() == 700.0
    assert world.expected_above("h2s", 15.0) == {"src"}
    assert world.expected_above("h2s", 15.0, t=0.0) == set()


def test_values_are_clipped_to_the_sensor_range() -> None:
    fac = u_bend()
    world = World(fac, scenario_on(fac, GasLeak(sensor="lel", node="src", peak=500.0,
                                                decay_m=50.0),
                                   O2Deficiency(node="src", o2=0.0, growth_per_h=10.0)))
    assert world.expected("lel", "src", 0) == 100.0
    assert world.reading("lel", "src", 0, world.rng_for("r", "src", 0, "lel"))[0] <= 100.0
    assert world.expected("o2", "src", 7200.0) == 0.0


def test_sensor_faults_from_the_scenario_and_injected() -> None:
    fac = u_bend()
    faults = (Fault(at_s=100.0, robot="R1", kind=FaultKind.SENSOR_FAIL, sensor="ch4",
                    duration_s=50.0),)
    world = World(fac, scenario_on(fac, faults=faults))
    assert not math.isnan(world.measure("ch4", "src", 99.0, robot="R1")[0])
    assert math.isnan(world.measure("ch4", "src", 100.0, robot="R1")[0])
    assert world.sensor_failed("R1", "ch4", 120.0)
    assert not world.sensor_failed("R1", "ch4", 150.0)  # back after duration_s
    assert not math.isnan(world.measure("ch4", "src", 120.0, robot="R2")[0])
    assert not math.isnan(world.measure("co", "src", 120.0, robot="R1")[0])

    world.inject(Fault(at_s=0.0, robot="R2", kind=FaultKind.SENSOR_DRIFT, sensor="co",
                       per_hour=3.0))
    world.inject(Fault(at_s=0.0, robot="R2", kind=FaultKind.KILL))  # not the world's business
    plain = world.measure("co", "src", 7200.0, robot="R3", visit=4)[0]
    rng = world.rng_for("R3", "src", 4, "co")
    drifted = world.reading("co", "src", 7200.0, rng, robot="R2")[0]
    assert drifted == pytest.approx(plain + 6.0)
    assert [f.kind for f in world.faults_of("R2")] == [FaultKind.SENSOR_DRIFT]


def test_custom_sensor_specs() -> None:
    fac = u_bend()
    spec = SensorSpec("ppm", 1.0, 0.0, 0.0, 1000.0, by_tag=(("x", 5.0),))
    world = World(fac, Scenario(name="t", facility=fac, world=WorldSpec(
        sensors={**DEFAULT_SENSORS, "nh3": spec},
        sources=(GasLeak(sensor="nh3", node="src", peak=10.0, decay_m=1.0),))))
    assert world.unit("nh3") == "ppm"
    assert world.measure("nh3", "src", 0, robot="r") == (11.0, "ppm")  # sigma 0: exact
    with pytest.raises(ValueError):
        SensorSpec("ppm", 5000.0, 0.0, 0.0, 1000.0)  # background outside the range
    with pytest.raises(ValueError):
        GasLeak(sensor="ch4", node="src", peak=1.0, decay_m=0.0)
    with pytest.raises(ValueError):
        O2Deficiency(o2=18.0)
    with pytest.raises(ValueError):
        HotSpot(node="src", peak_c=math.nan)
