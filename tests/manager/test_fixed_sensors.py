"""Fixed sensors over real Zenoh: a plain zenoh publisher (the ``zenoh`` package, not our
SDK), acting as the site's gas monitoring network, publishes readings as docs/protocol.md
spells them to a manager with an embedded router on a random loopback port and a real
SQLite file. Readings are stored as readings of their sensor, judged by the anomaly limits
of their place (alerts on Zenoh), and handed to the interlock hook; malformed messages
and unknown sensors are dropped with one log line per sensor per minute."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import zenoh

from fleet.anomaly.fixed_sensors import InterlockCheck
from fleet.clock import ManualClock
from fleet.comms.bus import Bus
from fleet.comms.config import free_port, router_config, tcp_endpoint
from fleet.facility import load
from fleet.interlock import Crossing, LocationType
from fleet.manager import Manager, ManagerSettings, build_manager
from fleet.store import Store

from ..conftest import DATA

pytestmark = pytest.mark.timeout(120)

MAP = DATA / "maps" / "monitored.yaml"
SETTLE = 0.3  # real seconds for a new subscription to reach the router


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def reading(sensor_id: str, value: float, *, sensor: str = "ch4", unit: str = "%vol",
            **extra: Any) -> bytes:
    """A fixed-sensor reading as docs/protocol.md spells it."""
    now = datetime.now(UTC)
    return json.dumps({"sensorId": sensor_id, "sensor": sensor, "value": value,
                       "unit": unit, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.")
                       + f"{now.microsecond // 1000:03d}Z", **extra}).encode()


@dataclass
class Monitoring:
    """A plain zenoh client: publishes readings, hears the manager's alerts."""

    session: Any
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def put(self, sensor_id: str, payload: bytes) -> None:
        self.session.put(f"uagv/sensors/{sensor_id}", payload,
                         encoding=zenoh.Encoding.APPLICATION_JSON)


@dataclass
class Rig:
    manager: Manager
    store: Store
    monitoring: Monitoring
    checks: list[InterlockCheck]
    clock: ManualClock | None


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    clock = ManualClock(1000.0, date=datetime.now(UTC)) if getattr(
        request, "param", None) == "manual" else None
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    store = Store.open(None, path=tmp_path / "fleet.db")
    checks: list[InterlockCheck] = []
    lock = threading.Lock()

    def hook(check: InterlockCheck) -> None:
        with lock:
            checks.append(check)

    config = zenoh.Config()
    config.insert_json5("mode", '"client"')
    config.insert_json5("connect/endpoints", json.dumps([endpoint]))
    config.insert_json5("connect/timeout_ms", "5000")
    config.insert_json5("scouting/multicast/enabled", "false")
    with Bus.open(router_config([endpoint])) as bus:
        manager = build_manager(store, bus, ManagerSettings(robot_timeout=5.0), clock=clock,
                                sites=[load(MAP)], interlock_hooks=[hook])
        session = zenoh.open(config)
        monitoring = Monitoring(session)
        session.declare_subscriber(
            "uagv/manager/alerts",
            lambda sample: monitoring.alerts.append(json.loads(sample.payload.to_bytes())))
        time.sleep(SETTLE)
        try:
            yield Rig(manager, store, monitoring, checks, clock)
        finally:
            session.close()
            manager.stop()
    store.close()


def test_readings_are_stored_judged_and_checked_against_interlock_levels(rig: Rig) -> None:
    mon = rig.monitoring
    mon.put("T-FACE", reading("T-FACE", 0.31, nodeId="face"))
    assert wait_for(lambda: rig.store.count_sensor_readings("T-FACE") == 1)
    # 12,000 ppm is 1.2 %vol: over the face's alarm level, under its power-off
    mon.put("T-FACE", reading("T-FACE", 12000, unit="ppm"))
    mon.put("T-RET", reading("T-RET", 1.05))  # a face return cuts power at 1.0 %
    mon.put("T-FACE", reading("T-FACE", 1.53))  # the 1.53 % at the face
    assert wait_for(lambda: rig.store.count_sensor_readings() == 4)

    rows = rig.store.sensor_readings("T-FACE", "ch4")
    assert [(r.value, r.unit, r.node_id) for r in rows] == [
        (0.31, "%vol", "face"), (pytest.approx(1.2), "%vol", "face"), (1.53, "%vol", "face")]
    assert rows[0].reported == {"nodeId": "face"}
    assert rig.store.count_results() == 0  # not inspection results

    assert wait_for(lambda: len(rig.checks) == 4)
    by = {(c.sensor_id, round(c.reading.value, 6)): c for c in rig.checks}
    face = by[("T-FACE", 0.31)]
    assert face.node == "face" and face.levels is not None
    assert face.levels.location is LocationType.COAL_FACE
    assert (face.levels.alarm, face.levels.power_off, face.levels.restore) == (1.0, 1.5, 1.0)
    assert face.crossing is Crossing.RESTORE
    assert by[("T-FACE", 1.2)].crossing is Crossing.ALARM
    assert by[("T-FACE", 1.53)].crossing is Crossing.POWER_OFF
    ret = by[("T-RET", 1.05)]
    assert ret.crossing is Crossing.POWER_OFF and ret.levels is not None
    assert ret.levels.location is LocationType.FACE_RETURN
    assert ret.reading_id > 0

    anomalies = {a.inspection_point_id: a for a in rig.store.anomalies()}
    assert anomalies["T-FACE"].severity == "alarm" and anomalies["T-FACE"].peak == 1.53
    assert anomalies["T-FACE"].x == 40.0 and anomalies["T-FACE"].serial_number is None
    assert anomalies["T-RET"].severity == "alarm"  # alarm at the return's power-off level
    observations = rig.store.observations(anomalies["T-RET"].id)
    assert [(o.result_id, o.sensor_reading_id) for o in observations] == [
        (None, ret.reading_id)]
    assert wait_for(lambda: {a["anomaly"]["inspection_point_id"] for a in mon.alerts}
                    >= {"T-FACE", "T-RET"})


def test_malformed_and_unknown_sensor_messages_are_dropped_with_one_line_each(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="fleet.manager.sensors")
    mon = rig.monitoring
    for _ in range(3):
        mon.put("T-FACE", b"{not json")
        mon.put("T-NOPE", reading("T-NOPE", 0.2))
    mon.put("T-CO", reading("T-CO", 3.0, sensor="co", unit="%LEL"))  # a unit that won't do
    mon.put("T-FACE", reading("T-FACE", 0.2))  # a good one still gets through
    assert wait_for(lambda: rig.store.count_sensor_readings() == 1)
    assert wait_for(lambda: rig.manager.sensors.dropped == 7)
    lines = [r.getMessage() for r in caplog.records if r.name == "fleet.manager.sensors"]
    assert len(lines) == 3, lines
    assert sum("T-FACE" in line and "not JSON" in line for line in lines) == 1
    assert sum("T-NOPE" in line and "no known site map" in line for line in lines) == 1
    assert sum("T-CO" in line and "does not convert" in line for line in lines) == 1
    assert all("\n" not in line for line in lines)


@pytest.mark.parametrize("rig", ["manual"], indirect=True)
def test_a_sensor_dropping_again_a_minute_later_is_logged_again(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="fleet.manager.sensors")
    assert rig.clock is not None

    def drop_lines() -> int:
        return sum("T-NOPE" in r.getMessage() for r in caplog.records)

    rig.monitoring.put("T-NOPE", reading("T-NOPE", 0.2))
    assert wait_for(lambda: rig.manager.sensors.dropped == 1)
    rig.clock.advance(59.0)
    rig.monitoring.put("T-NOPE", reading("T-NOPE", 0.2))
    assert wait_for(lambda: rig.manager.sensors.dropped == 2)
    assert drop_lines() == 1
    rig.clock.advance(2.0)
    rig.monitoring.put("T-NOPE", reading("T-NOPE", 0.2))
    assert wait_for(lambda: rig.manager.sensors.dropped == 3)
    assert drop_lines() == 2
