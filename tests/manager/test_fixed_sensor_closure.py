"""Acceptance: a plain Zenoh publisher acting as a fixed sensor closes and reopens an area.

A real manager (embedded router on a random loopback port, a real SQLite file) listens to
the fixed sensors of tests/data/maps/monitored.yaml (a coal mine). A separate session of
the plain ``zenoh`` package, not the project's bus, publishes readings as docs/protocol.md
spells them on ``uagv/sensors/T-FACE`` and asks the manager's ``closures/list`` verb over
Zenoh. T-FACE stands at node ``face`` (tagged coal-face: power off at 1.5 %, restore below
1.0 %); the area closed round it is the nodes within 30 m along the graph: a, face, ret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import zenoh

from fleet.anomaly.fixed_sensors import InterlockCheck
from fleet.anomaly.rules import CLOSURE
from fleet.comms.bus import Bus
from fleet.comms.config import free_port, router_config, tcp_endpoint
from fleet.facility import Access, Epl, Facility, load
from fleet.facility.routing import shortest_route
from fleet.manager import Manager, ManagerSettings, build_manager
from fleet.store import AnomalyRow, Store

from .test_fixed_sensors import MAP, SETTLE, reading, wait_for

pytestmark = pytest.mark.timeout(120)

MB = Access(frozenset({Epl.MB}))
MA = Access(frozenset({Epl.MA}))
CLOSED = ["a", "face", "ret"]


@dataclass
class Mine:
    manager: Manager
    store: Store
    facility: Facility
    session: Any  # a plain zenoh.Session
    checks: list[InterlockCheck]
    """What a hook added after the manager's own (the closures') heard, in order."""

    def put(self, key_sensor: str, payload: bytes) -> None:
        """What a fixed sensor of the site's monitoring network does."""
        self.session.put(f"uagv/sensors/{key_sensor}", payload,
                         encoding=zenoh.Encoding.APPLICATION_JSON)

    def closures_list(self, **body: Any) -> Any:
        """The manager's ``closures/list`` verb, asked with a plain zenoh ``get``."""
        payload = json.dumps(body).encode() if body else None
        replies = self.session.get("uagv/manager/closures/list", payload=payload,
                                   encoding=zenoh.Encoding.APPLICATION_JSON, timeout=5.0)
        answers = [json.loads(r.ok.payload.to_bytes()) for r in replies if r.ok is not None]
        assert len(answers) == 1, answers
        return answers[0]

    def closure_anomalies(self) -> list[AnomalyRow]:
        return [a for a in self.store.anomalies() if a.rule == CLOSURE]


def other_mine() -> Facility:
    """Another mine with the same node ids as monitored.yaml, and a sensor U-FACE at its
    own ``face``."""
    fac = load(MAP)
    return replace(fac, name="Other mine", meta={
        **fac.meta, "sensors": [{"id": "U-FACE", "sensor": "ch4", "node": "face"}]})


@pytest.fixture
def mine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Mine]:
    """The manager, listening to monitored.yaml (and the sites of an indirect parameter,
    given after it), and a plain zenoh client session."""
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    store = Store.open(None, path=tmp_path / "fleet.db")
    facility = load(MAP)
    more: list[Facility] = list(getattr(request, "param", ()))
    config = zenoh.Config()
    config.insert_json5("mode", '"client"')
    config.insert_json5("connect/endpoints", json.dumps([endpoint]))
    config.insert_json5("connect/timeout_ms", "5000")
    config.insert_json5("scouting/multicast/enabled", "false")
    with Bus.open(router_config([endpoint])) as bus:
        manager = build_manager(store, bus, ManagerSettings(robot_timeout=5.0),
                                sites=[facility, *more])
        checks: list[InterlockCheck] = []
        manager.sensors.add_hook(checks.append)  # after the manager's: called after it
        session = zenoh.open(config)
        time.sleep(SETTLE)  # the client's routes reach the router; not a synchronisation
        try:
            yield Mine(manager, store, facility, session, checks)
        finally:
            session.close()
            manager.stop()
    store.close()


def test_a_plain_zenoh_sensor_closes_and_reopens_an_area(mine: Mine) -> None:
    fac, manager = mine.facility, mine.manager
    assert mine.closures_list() == []
    assert shortest_route(manager.obstacles.site(fac), "dock", "drain", access=MB) is not None

    # power off at the coal face: 1.53 % >= 1.5 %
    mine.put("T-FACE", reading("T-FACE", 1.53, nodeId="face"))
    assert wait_for(lambda: len(mine.closures_list()) == 1)
    [listed] = mine.closures_list()
    assert (listed["site"], listed["node"], listed["nodes"], listed["area"], listed["source"],
            listed["sensor"], listed["value"], listed["unit"], listed["restore"],
            listed["open"]) == (fac.name, "face", CLOSED, "within 30 m", "sensor T-FACE",
                                "ch4", 1.53, "%vol", 1.0, True)
    [row] = manager.closures.open()
    assert row.id == listed["id"]

    # its ALARM anomaly (raised once the closure is stored: wait for it too)
    assert wait_for(lambda: len(mine.closure_anomalies()) == 1)
    [alarm] = mine.closure_anomalies()
    assert (alarm.sensor, alarm.severity, alarm.status, alarm.inspection_point_id) == (
        f"closure:{row.id}", "alarm", "open", "face")
    assert "sensor T-FACE read ch4 1.53 %vol at face" in alarm.detail["description"]

    # planning keeps an Mb robot out of the closed nodes (only Ma may enter), and the
    # drain beyond is cut off for it; the map itself is unchanged
    planning = manager.obstacles.site(fac)
    for node in CLOSED:
        assert not planning.node_allowed(node, MB), node
        assert planning.node_allowed(node, MA), node
        assert fac.node_allowed(node, MB), node
    assert planning.node_allowed("dock", MB) and planning.node_allowed("drain", MB)
    assert shortest_route(planning, "dock", "drain", access=MB) is None
    assert shortest_route(planning, "dock", "drain", access=MA) is not None

    # exactly the restore level is not below it: still closed (the test's hook hears a
    # check after the manager's closure hook has handled it)
    mine.put("T-FACE", reading("T-FACE", 1.0))
    assert wait_for(lambda: [c.reading.value for c in mine.checks] == [1.53, 1.0])
    assert [r["id"] for r in mine.closures_list()] == [row.id]

    # strictly below restore, inside the closure: reopened, by the sensor
    mine.put("T-FACE", reading("T-FACE", 0.9))
    assert wait_for(lambda: mine.closures_list() == [])
    [history] = mine.closures_list(all=True)
    assert (history["id"], history["open"], history["reopened_by"], history["note"]) == (
        row.id, False, "sensor T-FACE read ch4 0.9 %vol", "below the restore level")
    assert history["reopened_at"] is not None
    [stored] = mine.store.closures()
    assert stored.reopened_by == "sensor T-FACE read ch4 0.9 %vol"
    assert wait_for(lambda: mine.closure_anomalies()[0].status == "resolved")
    [alarm] = mine.closure_anomalies()
    assert alarm.resolved_by == "sensor T-FACE read ch4 0.9 %vol"
    assert alarm.resolve_note == f"closure C-{row.id} reopened: below the restore level"

    # and the Mb robot may go there again
    planning = manager.obstacles.site(fac)
    assert all(planning.node_allowed(n, MB) for n in CLOSED)
    assert shortest_route(planning, "dock", "drain", access=MB) is not None


@pytest.mark.parametrize(("key", "payload"), [
    ("T-FACE", b"{not json"),
    ("T-FACE", json.dumps({"sensorId": "T-FACE", "sensor": "ch4", "value": "2.0",
                           "unit": "%vol", "timestamp": "now"}).encode()),
    ("T-FACE", reading("T-FACE", 2.0, unit="%LEL")),  # a unit that does not convert
    ("T-FACE", reading("T-RET", 2.0)),  # the message names another sensor than the key
    ("T-FACE", reading("T-FACE", 2.0, sensor="co")),  # T-FACE measures ch4
    ("T-NOPE", reading("T-NOPE", 5.0)),  # no map lists it
], ids=["not-json", "schema", "unit", "other-id", "other-sensor", "unknown-sensor"])
def test_malformed_and_unknown_sensor_messages_close_nothing(
        mine: Mine, key: str, payload: bytes) -> None:
    for _ in range(3):
        mine.put(key, payload)
    # dropped on the transport's thread as they arrive: nothing reaches the sensor thread
    assert wait_for(lambda: mine.manager.sensors.dropped == 3)
    assert mine.closures_list() == [] and mine.manager.closures.open() == []
    assert mine.store.count_sensor_readings() == 0 and mine.closure_anomalies() == []
    # the manager keeps running: a good power-off reading still closes the area
    mine.put("T-FACE", reading("T-FACE", 1.6))
    assert wait_for(lambda: len(mine.closures_list()) == 1)
    assert mine.manager.sensors.dropped == 3


@pytest.mark.parametrize("mine", [[other_mine()]], indirect=True, ids=["two-mines"])
def test_a_sensor_closes_its_own_site_where_another_has_the_same_node_ids(mine: Mine) -> None:
    mine.put("U-FACE", reading("U-FACE", 1.6))
    assert wait_for(lambda: len(mine.closures_list()) == 1)
    [listed] = mine.closures_list()
    assert (listed["site"], listed["node"], listed["source"]) == (
        "Other mine", "face", "sensor U-FACE")
    other = mine.manager.obstacles.site(other_mine())
    assert not other.node_allowed("face", MB)
    assert mine.manager.obstacles.site(mine.facility).node_allowed("face", MB)
    # and a reading below restore of the first mine's sensor at its own face reopens
    # nothing of the other mine's
    mine.put("T-FACE", reading("T-FACE", 0.2))
    assert wait_for(lambda: [c.sensor_id for c in mine.checks] == ["U-FACE", "T-FACE"])
    assert [c["site"] for c in mine.closures_list()] == ["Other mine"]
