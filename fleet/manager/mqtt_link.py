"""VDA 5050 robots on an MQTT broker as a robot link: :class:`VdaMqttLink`.

Most VDA 5050 robots in the field speak MQTT. ``fleet serve --mqtt mqtt://HOST:1883`` (or
``mqtts://`` with the site's CA and the manager's certificate) connects the manager to the
broker as one more :class:`~fleet.manager.links.RobotLink`, beside the robots on Zenoh, in
one fleet. It is the Zenoh link's protocol (:class:`~fleet.manager.links.VdaZenohLink`:
validation, identities, VDA 5050 2.0 and 2.1, refusals answered) on a
:class:`~fleet.comms.Bus` over an :class:`~fleet.comms.MqttTransport`, on the same topics
``{interface}/v2/{manufacturer}/{serialNumber}/{topic}`` (QoS per topic:
:func:`~fleet.comms.vda5050_delivery`). What differs is presence: MQTT has no liveliness
tokens, so the robot's retained ``connection`` topic is its presence. ``ONLINE`` makes it
present; ``CONNECTIONBROKEN``, which the broker publishes as the robot's last will when its
connection ends without a clean disconnect, and ``OFFLINE`` make it absent, as a Zenoh
robot whose token goes: lost at once, unless the comms-dead zones ahead on its route
explain it (:mod:`fleet.manager.liveness`). A manager that subscribes later still learns each
robot's last connection state: the topic is retained.

The link owns its MQTT session: opened by :meth:`VdaMqttLink.open`, closed by
:meth:`close`.
"""

from __future__ import annotations

import logging

from fleet.comms import Bus, MqttOptions, MqttTransport
from fleet.comms.transport import Handle
from fleet.errors import TransportError
from fleet.manager.links import LinkEvents, RobotId, VdaZenohLink
from fleet.protocol.state import Connection, ConnectionState

log = logging.getLogger(__name__)


class VdaMqttLink(VdaZenohLink):
    """VDA 5050 2.0 and 2.1 robots through an MQTT broker (see the module docstring)."""

    @classmethod
    def open(cls, options: MqttOptions | str, interface: str) -> VdaMqttLink:
        """Connect to the broker (NotReachable, one line, when it cannot be reached or
        turns the manager away)."""
        return cls(Bus(MqttTransport.open(options)), interface)

    def _watch_presence(self) -> list[Handle]:
        return []  # no tokens on MQTT: the connection topic (:meth:`_connection`) is presence

    def reachable(self, robot: RobotId) -> bool:
        """Whether the manager is connected to the broker now (every robot of the link is
        behind it)."""
        return self.bus.reachable()

    def close(self) -> None:
        super().close()
        try:
            self.bus.close()
        except TransportError as exc:
            log.debug("closing the MQTT link: %s", exc)

    def _connection(self, events: LinkEvents, robot: RobotId, message: Connection) -> None:
        """The retained ``connection`` topic is the robot's presence on MQTT."""
        if message.state is ConnectionState.ONLINE:
            events.on_presence(robot, True)
            events.on_connection(robot, message)
        elif message.state is ConnectionState.OFFLINE:
            events.on_connection(robot, message)  # first: the presence going keeps it
            events.on_presence(robot, False)  # offline
        else:
            # the will: as a Zenoh token that goes, so that a robot whose connection
            # breaks in a comms-dead zone on its route is silent, not lost at once
            events.on_presence(robot, False)
