"""A manager speaking to each robot in the VDA 5050 version the robot speaks (in-memory
network, manual clock): everything a 2.0 robot is sent is valid against the official 2.0.0
schemas; a robot speaking another version is refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from fleet.protocol.codec import to_bytes
from fleet.protocol.header import Message
from fleet.protocol.keys import Topic
from fleet.protocol.order import ActionType

from .harness import ScriptedRobot, Site

SCHEMAS_2_0 = Path(__file__).resolve().parents[2] / "fleet" / "protocol" / "schemas" / "2.0.0"


class Speaking(ScriptedRobot):
    """A scripted robot whose headers say ``version`` (what it is sent is kept raw)."""

    version = "2.0.0"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raw: list[tuple[str, dict[str, Any]]] = []
        for topic in (Topic.ORDER, Topic.INSTANT_ACTIONS, Topic.INSPECTION_ACK):
            self.bus.subscribe_raw(self.key(topic), lambda key, payload: self.raw.append(
                (key.rsplit("/", 1)[1], json.loads(payload))))

    def send(self, message: Message) -> None:
        d = self.stamper.stamp(message).to_json()
        d["version"] = self.version
        for node in d.get("nodeStates", ()):  # 2.0 states require a node's theta
            if "nodePosition" in node:
                node["nodePosition"].setdefault("theta", 0.0)
        self.send_raw(message.TOPIC, to_bytes(d))


def speaking(site: Site, serial: str, version: str) -> Speaking:
    robot = Speaking(site.net, site.facility, serial)
    robot.version = version
    site.robots.append(robot)
    robot.online()
    site.net.drain()
    return robot


def test_a_2_0_robot_is_sent_2_0_messages_only_and_does_its_work(site: Site) -> None:
    r1 = speaking(site, "r1", "2.0.0")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(2)
    r1.send(r1.result("p1"))
    site.wait_until(lambda: "p1" in run.done)
    site.manager.core.instant(r1.manufacturer, "r1", ActionType.START_PAUSE)
    site.net.drain()
    assert r1.wait_for(lambda: {t for t, _ in r1.raw} >= {"order", "inspectionAck",
                                                          "instantActions"})
    for topic, message in r1.raw:
        assert message["version"] == "2.0.0", topic
        if topic != "inspectionAck":  # our extension: one schema for both versions
            schema = json.loads((SCHEMAS_2_0 / f"{topic}.schema").read_text())
            Draft202012Validator(schema).validate(message)
    assert site.entry().refused == 0


def test_a_robot_speaking_another_version_is_refused_with_the_reason(site: Site) -> None:
    speaking(site, "r9", "1.1.0")
    entry = site.entry("r9")
    assert entry.refused >= 1 and entry.last_rejected is not None
    assert "VDA 5050 version '1.1.0' is not supported" in entry.last_rejected.reason
    assert entry.factsheet is None and entry.state is None  # nothing of it was taken
