"""What the manager learns of a robot from its factsheet (through the wire format)."""

from __future__ import annotations

from fleet.agent import AgentConfig, Capabilities
from fleet.facility.document import facility_from_document
from fleet.facility.protection import Epl
from fleet.manager.registry import Registry, RobotEntry
from fleet.manager.stateview import StateView
from fleet.protocol.codec import decode, decode_json, encode
from fleet.protocol.factsheet import Factsheet
from fleet.protocol.header import Header
from fleet.protocol.state import BatteryState, State


def _entry(caps: Capabilities) -> RobotEntry:
    sheet = AgentConfig("acme", "q1", caps).factsheet(Header("acme", "q1"))
    received = decode("factsheet", encode(sheet))
    assert isinstance(received, Factsheet)
    return RobotEntry("acme", "q1", factsheet=received)


def test_zone_capabilities_reach_the_planning_class() -> None:
    cls = _entry(Capabilities(("h2s",), "Gb", capabilities=("stairs",))).robot_class()
    assert cls is not None and cls.capabilities == frozenset({"stairs"})
    assert cls.sensors == frozenset({"h2s"}) and cls.ratings


def test_a_factsheet_without_capabilities_has_none() -> None:
    sheet = AgentConfig("acme", "q1", Capabilities(("h2s",))).factsheet(Header("acme", "q1"))
    assert "capabilities" not in sheet.to_json()["inspection"]
    cls = _entry(Capabilities(("h2s",))).robot_class()
    assert cls is not None and cls.capabilities == frozenset()



def test_ratings_reach_the_planning_class_and_decide_who_works_a_coal_mine() -> None:
    mine = facility_from_document({
        "site": {"name": "mine", "kind": "coal-mine"},
        "nodes": [{"id": "D", "x": 0, "y": 0, "kind": "dock"},
                  {"id": "P", "x": 10, "y": 0, "kind": "inspection"}],
        "edges": [{"from": "D", "to": "P"}]})
    registry = Registry()
    epls: tuple[tuple[str, str | tuple[str, ...] | None], ...] = (
        ("m1", ("Mb", "Gb")), ("a1", "Ma"), ("g1", "Gb"), ("u1", None))
    for serial, epl in epls:
        entry = registry.entry("acme", serial)
        sheet = AgentConfig("acme", serial, Capabilities(("ch4",), epl)).factsheet(
            Header("acme", serial))
        received = decode("factsheet", encode(sheet))
        assert isinstance(received, Factsheet)
        entry.factsheet = received
        state = State(Header("acme", serial, 0, "2026-01-01T00:00:00.000Z"),
                      BatteryState(90.0), last_node_id="D")
        entry.state = StateView.from_json(decode_json("state", encode(state)))
    m1 = registry.find("m1")
    assert m1 is not None and m1.to_json()["epl"] == ["Mb", "Gb"]
    cls = m1.robot_class()
    assert cls is not None and cls.ratings == {Epl.MB, Epl.GB} and not cls.stays_energised
    # group I: only the Ma/Mb robots are planned for; G-only and unrated ones never
    fleet = registry.available_fleet(mine)
    assert sorted(r.serial for r in fleet.robots) == ["a1", "m1"]
    assert fleet.robot("a1").robot_class.stays_energised
