"""The simulator's fixed sensors: the map's site.meta.sensors publish readings from the
world model (gas plumes included) on {interface}/sensors/{sensorId}, and a run's embedded
manager stores them, judges them and checks them against their interlock levels."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleet.anomaly.fixed_sensors import InterlockCheck
from fleet.clock import ManualClock
from fleet.comms import Bus, MemoryNetwork
from fleet.facility.fixed_sensors import fixed_sensors
from fleet.interlock import Crossing
from fleet.protocol.keys import parse_sensor_key, sensor_subscription_key
from fleet.protocol.sensor_reading import SensorReading, decode_sensor_reading
from sim.fixed_sensors import FixedSensorFeed
from sim.runner import RunOptions, SimRun
from sim.scenario import load_scenario
from sim.world import World

pytestmark = pytest.mark.timeout(120)

SCENARIO = Path(__file__).resolve().parents[1] / "data" / "sim" / "monitored_leak.yaml"


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_round_publishes_every_fixed_sensor_from_the_world() -> None:
    scenario = load_scenario(SCENARIO)
    world = World(scenario.facility, scenario)
    sensors = fixed_sensors(scenario.facility)
    net = MemoryNetwork()
    heard: list[tuple[str, SensorReading]] = []
    with Bus(net.transport()) as feed_bus, Bus(net.transport()) as listener:
        listener.subscribe_raw(sensor_subscription_key("uagv"), lambda key, payload: heard.append(
            (parse_sensor_key(key)[1], decode_sensor_reading(payload))))
        clock = ManualClock(0.0, date=datetime(2025, 3, 1, tzinfo=UTC))
        feed = FixedSensorFeed(world, sensors, feed_bus, clock=clock, period_s=5.0)
        assert feed.publish_round() == len(sensors) == 5
        net.drain()
        clock.advance(5.0)
        feed.publish_round()
        net.drain()
    assert len(heard) == 10
    first = {sid: r for sid, r in heard[:5]}
    assert all(sid == r.sensor_id for sid, r in heard)
    assert first["T-FACE"].value == pytest.approx(2.0, abs=0.1)  # the leak is at the face
    assert first["T-FACE"].node_id == "face" and first["T-FACE"].unit == "%vol"
    assert first["T-CO"].unit == "ppm"
    assert first["T-FACE"].timestamp == datetime(2025, 3, 1, tzinfo=UTC)
    assert heard[5][1].timestamp == datetime(2025, 3, 1, 0, 0, 5, tzinfo=UTC)


def test_a_run_publishes_its_fixed_sensors_to_the_manager() -> None:
    scenario = load_scenario(SCENARIO)
    checks: list[InterlockCheck] = []
    options = RunOptions(speed=20.0, launch=False, sensor_period_s=5.0)
    with SimRun(scenario, options) as run:
        manager = run.manager
        assert manager is not None and run.feed is not None
        manager.sensors.add_hook(checks.append)
        store = run.embedded.store if run.embedded is not None else None
        assert store is not None
        assert _wait(lambda: {c.sensor_id for c in checks} >= {
            "T-FACE", "T-RET", "T-INTAKE", "T-DRAIN", "T-CO"})
        assert store.count_sensor_readings("T-FACE") >= 1
        face = next(c for c in checks if c.sensor_id == "T-FACE")
        assert face.crossing is Crossing.POWER_OFF  # 2 % at the face
        assert _wait(lambda: any(a.inspection_point_id == "T-FACE" and a.severity == "alarm"
                                 for a in store.anomalies()))
        assert manager.sensors.dropped == 0
