"""What the manager learns of a robot from its factsheet (through the wire format)."""

from __future__ import annotations

from fleet.agent import AgentConfig, Capabilities
from fleet.manager.registry import RobotEntry
from fleet.protocol.codec import decode, encode
from fleet.protocol.factsheet import Factsheet
from fleet.protocol.header import Header


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
