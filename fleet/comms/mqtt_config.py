"""MQTT link settings: where the broker is, who we are, our last will, and QoS per topic.

- :class:`MqttOptions`: a broker URL (``mqtt://HOST:PORT`` plain, ``mqtts://HOST:PORT``
  TLS), the client identifier, TLS files (a CA, and a client certificate with its key for
  the per-robot certificates of :mod:`fleet.security.pki`), the :class:`Will`, the
  keep-alive and the connect timeout. Validated when built: a wrong URL or a certificate
  without its key raises ``ValueError`` at once, not at connect time.
- :class:`Will`: the message the broker publishes for a client that vanishes without
  disconnecting (VDA 5050's ``connection`` CONNECTIONBROKEN, built by the caller).
- :func:`vda5050_delivery`: QoS and retain per topic, the default :data:`DeliveryPolicy`.

Nothing here imports paho: these are plain values that a CLI or a robot configuration can
build and check without a broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
"""IANA ports of MQTT and MQTT over TLS, used when the URL names none."""

DEFAULT_KEEPALIVE_S = 10
"""Keep-alive interval. The broker declares a silent client gone (and publishes its will)
after 1.5 keep-alives (MQTT 3.1.1 section 3.1.2.10, MQTT 5 section 3.1.2.10), so a lost
robot shows as CONNECTIONBROKEN within ~15 s; paho's default of 60 s would take 90 s."""

DEFAULT_CONNECT_TIMEOUT_S = 3.0
"""How long opening waits for the broker's answer before raising NotReachable."""


class Delivery(NamedTuple):
    """How one message is published: its MQTT QoS (0, 1 or 2) and retain flag."""

    qos: int
    retain: bool


DeliveryPolicy = Callable[[str], Delivery]
"""Gives the :class:`Delivery` of a message from its topic (the full slash-separated key)."""

_AT_MOST_ONCE = Delivery(0, False)
_AT_LEAST_ONCE = Delivery(1, False)
_CONNECTION = Delivery(1, True)

_BY_TOPIC = {
    # VDA 5050 2.1, section 6 ("Process and content of communication"), table of MQTT
    # topics: order, instantActions, state, visualization and factsheet are QoS 0; the
    # robot's connection topic is QoS 1 and retained (its last will, too), so that a
    # manager that subscribes later still learns each robot's last known connection state.
    "connection": _CONNECTION,
    # The inspection extension (docs/protocol.md): a result is resent until acknowledged
    # and stored at most once per resultId, so duplicates are harmless and a loss only costs
    # a resend period (2 s and more); QoS 1 (at least once) makes the common case lossless
    # across a broker hop, including across a short reconnect (paho keeps unacknowledged
    # QoS 1 messages and sends them again). An ack lost would make the robot resend a
    # committed result until the next ack, so acks get QoS 1 for the same reason.
    "inspection": _AT_LEAST_ONCE,
    "inspectionAck": _AT_LEAST_ONCE,
}


def vda5050_delivery(topic: str) -> Delivery:
    """The VDA 5050 2.x QoS and retain flag for a message on ``topic`` (decided by the last
    chunk): ``connection`` QoS 1 retained; ``inspection`` and ``inspectionAck`` QoS 1; all
    else (``order``, ``instantActions``, ``state``, ``visualization``, ``factsheet``, the
    manager's own keys) QoS 0, not retained."""
    return _BY_TOPIC.get(topic.rsplit("/", 1)[-1], _AT_MOST_ONCE)


@dataclass(frozen=True, slots=True)
class Will:
    """The last will: published by the broker on ``topic`` when the client's connection ends
    without a clean disconnect (network loss, crash, keep-alive expiry). A clean
    :meth:`~fleet.comms.mqtt_transport.MqttTransport.close` discards it."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True

    def __post_init__(self) -> None:
        if not self.topic or "+" in self.topic or "#" in self.topic or "*" in self.topic:
            raise ValueError(f"a will's topic must be concrete, got {self.topic!r}")
        if self.qos not in (0, 1, 2):
            raise ValueError(f"a will's qos is 0, 1 or 2, got {self.qos}")


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """How to reach an MQTT broker; ``ValueError`` naming the field when invalid.

    ``url`` is ``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]`` (IPv6 hosts bracketed).
    With ``mqtts``, ``ca`` is the CA that signed the broker's certificate (the broker's name
    or address in the URL must be one of that certificate's names), and ``cert`` with
    ``key`` is the client's own certificate when the broker asks for one. ``client_id`` ""
    lets the broker assign one (MQTT 5 section 3.1.3.1); give a stable one per robot in
    production so that a broker's logs and ACL messages name it.
    """

    url: str
    client_id: str = ""
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    will: Will | None = None
    keepalive: int = DEFAULT_KEEPALIVE_S
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S

    def __post_init__(self) -> None:
        self._split()  # raises on a malformed URL
        if (self.cert is None) != (self.key is None):
            raise ValueError("a client certificate needs its key (cert and key together)")
        if not self.tls and (self.ca or self.cert):
            raise ValueError(f"TLS files are given but {self.url} is not mqtts://")
        if self.tls and self.ca is None:
            raise ValueError(f"{self.url} needs the CA certificate that signed the broker's")
        if self.keepalive < 1:
            raise ValueError(f"keepalive must be at least 1 s, got {self.keepalive}")
        if self.connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be positive, got {self.connect_timeout}")

    def _split(self) -> tuple[str, str, int]:
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"invalid MQTT URL {self.url!r}: {exc}") from None
        if parts.scheme not in DEFAULT_PORTS:
            raise ValueError(f"an MQTT URL is mqtt://HOST:PORT or mqtts://HOST:PORT, "
                             f"got {self.url!r}")
        if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
            raise ValueError(f"an MQTT URL is mqtt://HOST:PORT or mqtts://HOST:PORT, "
                             f"got {self.url!r}")
        return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]

    @property
    def tls(self) -> bool:
        """True for ``mqtts://`` URLs."""
        return self._split()[0] == "mqtts"

    @property
    def host(self) -> str:
        """The broker's host name or address (IPv6 without brackets)."""
        return self._split()[1]

    @property
    def port(self) -> int:
        """The broker's port (1883 or 8883 when the URL names none)."""
        return self._split()[2]


def mqtt_url(host: str, port: int, *, tls: bool = False) -> str:
    """``mqtt://HOST:PORT`` (``mqtts://`` with ``tls``); IPv6 hosts are bracketed."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
