"""The network seam: transports, the message :class:`Bus` on them, and Zenoh configurations.

- :mod:`~fleet.comms.transport`: :class:`Transport`, the small protocol every part of the
  project reaches the network through (publish, subscribe, liveliness, queries, close).
- :mod:`~fleet.comms.zenoh_transport`: :class:`ZenohTransport`, the product's (Zenoh's
  errors become :class:`~fleet.errors.TransportError` here).
- :mod:`~fleet.comms.mqtt_transport`: :class:`MqttTransport`, VDA 5050's own link: an MQTT 5
  client of a broker (no liveliness tokens, no queries; presence is the retained
  ``connection`` topic and the last will).
- :mod:`~fleet.comms.mqtt_config`: :class:`MqttOptions` (broker URL, TLS files, :class:`Will`),
  :func:`vda5050_delivery` (QoS and retain per topic), :func:`mqtt_url`.
- :mod:`~fleet.comms.memory`: :class:`MemoryNetwork`, an in-process network for unit tests.
- :mod:`~fleet.comms.bus`: :class:`Bus` - publish message models, subscribe to decoded
  messages (bad ones logged and dropped), liveliness tokens, JSON request/response.
- :mod:`~fleet.comms.config`: :func:`router_config`, :func:`client_config`,
  :func:`open_session`, :func:`free_port`, :func:`tcp_endpoint`.

Outside this package (and the configuration writer in :mod:`fleet.security`) nothing
imports Zenoh, and nothing at all imports paho-mqtt; import contracts in pyproject.toml
check both.

Typical use::

    from fleet.comms import Bus, client_config
    from fleet.protocol import Topic, subscription_key

    with Bus.open(client_config(["tcp/127.0.0.1:7447"])) as bus:
        bus.subscribe(subscription_key("uagv", Topic.STATE), on_state)
        ...
"""

from fleet.comms.bus import Bus, Request
from fleet.comms.config import (
    client_config,
    free_port,
    open_session,
    router_config,
    tcp_endpoint,
)
from fleet.comms.memory import MemoryNetwork, MemoryTransport
from fleet.comms.mqtt_config import Delivery, MqttOptions, Will, mqtt_url, vda5050_delivery
from fleet.comms.mqtt_transport import MqttTransport
from fleet.comms.transport import Answer, Handle, Publisher, Query, Transport
from fleet.comms.zenoh_transport import ZenohTransport

__all__ = [
    "Answer", "Bus", "Delivery", "Handle", "MemoryNetwork", "MemoryTransport", "MqttOptions",
    "MqttTransport", "Publisher", "Query", "Request", "Transport", "Will", "ZenohTransport",
    "client_config", "free_port", "mqtt_url", "open_session", "router_config", "tcp_endpoint",
    "vda5050_delivery",
]
