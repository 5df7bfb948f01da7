"""A robot on an MQTT broker: its connection options, with VDA 5050's last will.

A :class:`~fleet.agent.RobotAgent` works on any :class:`~fleet.comms.Bus`; on MQTT it needs
a client of its own whose last will is its ``connection`` CONNECTIONBROKEN (VDA 5050 2.x,
topic ``connection``: set at connect, QoS 1, retained), so that the broker tells the
manager when the robot vanishes. :func:`robot_options` describes such a client (open it
with :meth:`~fleet.comms.MqttTransport.open` and give the agent a Bus on it); the agent then
publishes ``connection`` ONLINE (retained) on start and OFFLINE before a clean close, which
discards the will.
"""

from __future__ import annotations

from pathlib import Path

from fleet.comms import MqttOptions, Will
from fleet.protocol.codec import encode
from fleet.protocol.header import Header
from fleet.protocol.keys import Topic, topic_key
from fleet.protocol.state import Connection, ConnectionState


def robot_options(url: str, interface: str, manufacturer: str, serial: str, *,
                  identity: Path | None = None) -> MqttOptions:
    """How robot ``manufacturer/serial`` reaches the broker at ``url``: client id
    ``{manufacturer}-{serial}``, the CONNECTIONBROKEN will, and for ``mqtts://`` the
    robot's ``ca.pem``, ``cert.pem`` and ``key.pem`` from ``identity`` (a robot directory
    of ``fleet security``). ValueError naming what is wrong."""
    will = Connection(Header(manufacturer, serial), ConnectionState.CONNECTIONBROKEN)
    files = (identity / "ca.pem", identity / "cert.pem", identity / "key.pem") \
        if identity is not None else (None, None, None)
    return MqttOptions(url, client_id=f"{manufacturer}-{serial}", ca=files[0],
                       cert=files[1], key=files[2],
                       will=Will(topic_key(interface, manufacturer, serial,
                                           Topic.CONNECTION), encode(will)))

