"""Zenoh sessions: configurations, opening, and the :class:`Bus` seam.

- :mod:`~fleet.comms.config`: :func:`router_config`, :func:`client_config`,
  :func:`open_session` (NotReachable with one line when no router answers),
  :func:`free_port`, :func:`tcp_endpoint`.
- :mod:`~fleet.comms.bus`: :class:`Bus` - publish message models, subscribe to decoded
  messages (bad ones logged and dropped), liveliness tokens, JSON request/response.

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

__all__ = [
    "Bus", "Request", "client_config", "free_port", "open_session", "router_config",
    "tcp_endpoint",
]
