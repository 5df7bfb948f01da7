"""Several robot links as one (fake links): each robot answered on the link it was last
heard on, and a link's old word on a robot's going ignored once it speaks on another."""

from __future__ import annotations

from typing import Any

from fleet.manager.links import LinkEvents, Links, RobotId
from fleet.protocol import examples
from fleet.protocol.header import Message

R1 = RobotId("acme", "r1")


class Heard:
    """The core's side: what reaches it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_state(self, robot: RobotId, state: Any) -> None:
        self.calls.append(("state", robot))

    def on_connection(self, robot: RobotId, message: Any) -> None:
        self.calls.append(("connection", message.state))

    def on_factsheet(self, robot: RobotId, factsheet: Any) -> None:
        self.calls.append(("factsheet", robot))

    def on_result(self, robot: RobotId, result: Any) -> None:
        self.calls.append(("result", robot))

    def on_presence(self, robot: RobotId, present: bool) -> None:
        self.calls.append(("presence", present))

    def on_refused(self, robot: RobotId, topic: str, reason: str) -> None:
        self.calls.append(("refused", reason))


class Fake:
    """A link whose robots the test speaks for."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: LinkEvents | None = None
        self.sent: list[Message] = []

    def start(self, events: LinkEvents) -> None:
        self.events = events

    def send(self, robot: RobotId, message: Message) -> None:
        self.sent.append(message)

    def close(self) -> None:
        pass

    def reachable(self, robot: RobotId) -> bool:
        return self.name == "zenoh"


def test_a_retained_will_on_mqtt_does_not_lose_a_robot_now_on_zenoh() -> None:
    zenoh, mqtt = Fake("zenoh"), Fake("mqtt")
    links = Links([zenoh, mqtt])
    heard = Heard()
    links.start(heard)
    assert zenoh.events is not None and mqtt.events is not None
    zenoh.events.on_presence(R1, True)
    zenoh.events.on_connection(R1, examples.connection(online=True))
    heard.calls.clear()
    # the broker replays what it kept of r1's MQTT days: its will, then it goes
    broken = examples.connection(online=False)
    mqtt.events.on_connection(R1, broken)
    mqtt.events.on_presence(R1, False)
    assert heard.calls == []
    links.send(R1, examples.order())
    assert zenoh.sent and not mqtt.sent  # still answered where it speaks
    assert links.reachable(R1)
    # the same from the link it is on counts
    zenoh.events.on_connection(R1, broken)
    zenoh.events.on_presence(R1, False)
    assert heard.calls == [("connection", broken.state), ("presence", False)]


def test_a_robot_that_moves_to_mqtt_is_answered_there() -> None:
    zenoh, mqtt = Fake("zenoh"), Fake("mqtt")
    links = Links([zenoh, mqtt])
    links.start(Heard())
    assert zenoh.events is not None and mqtt.events is not None
    zenoh.events.on_presence(R1, True)
    mqtt.events.on_connection(R1, examples.connection(online=True))
    links.send(R1, examples.order())
    assert mqtt.sent and not zenoh.sent
    assert not links.reachable(R1)  # its link's reachability, not the first link's
