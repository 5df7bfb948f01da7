"""The transport seam: :class:`Transport`, what the project needs of a pub/sub network.

Everything above :mod:`fleet.comms` (the manager, the robot agent, alerts, the benchmarks,
the simulator) reaches the network through a :class:`~fleet.comms.bus.Bus`, which works on
a :class:`Transport`. Two implementations live beside this module:

- :class:`~fleet.comms.zenoh_transport.ZenohTransport`: a real Zenoh session (the product);
- :class:`~fleet.comms.memory.MemoryTransport`: an in-process network for unit tests,
  deterministic and free of Zenoh's threads.

The simulator wraps a transport in a link model (:class:`sim.radio.RadioTransport`): delay,
loss and dead-zone silence applied to whatever transport is underneath.

The contract, which both implementations are tested against (tests/comms/test_transport.py):

- keys are Zenoh key expressions (``a/b/*``, ``a/**``); payloads are bytes;
- :meth:`Transport.subscribe` callbacks receive ``(key, payload)`` for every put whose key
  intersects the subscription, possibly on another thread, one at a time per subscription;
- liveliness tokens are reported ``(key, True)`` when they appear and ``(key, False)`` when
  they go (undeclared, transport closed, or link lost);
- :meth:`Transport.query` returns every answer received within the timeout, in order; an
  empty list means nobody answered;
- every failure of the network underneath is raised as
  :class:`~fleet.errors.TransportError` (or :class:`~fleet.errors.NotReachable` when
  opening finds no router), never as the library's own exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Handle(Protocol):
    """Something declared on a transport (subscriber, token, queryable)."""

    def undeclare(self) -> None:
        """Withdraw it; harmless when already withdrawn or the transport is closed."""
        ...


class Publisher(Protocol):
    """A declared publisher for one key (hot paths: publishes without a lookup per put)."""

    def put(self, payload: bytes) -> None:
        """Publish ``payload`` on the publisher's key (blocks rather than drop under load)."""
        ...


class KeyPublisher:
    """A :class:`Publisher` that puts through ``transport.publish`` (for transports with
    nothing to gain from declaring a publisher)."""

    def __init__(self, transport: Transport, key: str) -> None:
        self._transport = transport
        self._key = key

    def put(self, payload: bytes) -> None:
        self._transport.publish(self._key, payload)


@dataclass(frozen=True, slots=True)
class Query:
    """A query as a :meth:`Transport.serve` handler receives it."""

    key: str
    """The key the query was sent to."""
    params: dict[str, str]
    """Selector parameters (``key?a=1;b=2``)."""
    payload: bytes | None
    """The query's payload, None when it carried none."""
    attachment: bytes | None = None
    """The query's attachment (ROS 2 over rmw_zenoh: sequence number and GID), if any."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer to a query: a payload, marked as an error answer or not."""

    payload: bytes
    error: bool = False
    attachment: bytes | None = None
    """Sent with the answer (rmw_zenoh service replies echo the request's)."""
    json: bool = True
    """Whether the payload is JSON (labelled so on Zenoh); False for CDR and other bytes."""


SampleCallback = Callable[[str, bytes], object]
"""Receives the key a payload was put on and the payload."""

TokenCallback = Callable[[str, bool], object]
"""Receives a liveliness token's key and True when it appeared, False when it went."""

QueryHandler = Callable[[Query], Answer]
"""Answers one query."""


class Transport(Protocol):
    """A pub/sub network with liveliness tokens and queries (see the module docstring)."""

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        ...

    def publish(self, key: str, payload: bytes, *, attachment: bytes | None = None,
                json: bool = True) -> None:
        """Put ``payload`` on ``key``, labelled JSON unless ``json`` is False (CDR), with
        ``attachment`` if given."""
        ...

    def publisher(self, key: str) -> Publisher:
        """A publisher for ``key`` that blocks rather than drops under congestion."""
        ...

    def subscribe(self, key_expr: str, callback: SampleCallback, *,
                  remote_only: bool = False) -> Handle:
        """Call ``callback(key, payload)`` for every put matching ``key_expr``; with
        ``remote_only`` puts made through this same transport are not delivered."""
        ...

    def declare_token(self, key: str) -> Handle:
        """Declare the liveliness token ``key`` (present until undeclared or closed)."""
        ...

    def watch_tokens(self, key_expr: str, callback: TokenCallback, *,
                     history: bool = True) -> Handle:
        """Report tokens matching ``key_expr`` appearing and going; with ``history`` those
        already present are reported at once."""
        ...

    def tokens(self, key_expr: str, *, timeout: float) -> list[str]:
        """Keys of the tokens matching ``key_expr`` present now (waits <= ``timeout``)."""
        ...

    def serve(self, key_expr: str, handler: QueryHandler, *, complete: bool = False) -> Handle:
        """Answer queries on ``key_expr`` with ``handler``; ``complete`` declares that it
        answers for the whole of ``key_expr`` (a ROS 2 service server does)."""
        ...

    def query(self, key: str, payload: bytes | None, *, timeout: float,
              attachment: bytes | None = None, complete: bool = False,
              every: bool = False, json: bool = True) -> list[Answer]:
        """Ask ``key``; the answers received within ``timeout`` seconds. ``complete`` asks
        only complete queryables, every one of them, answers not merged (a ROS 2 service
        call); ``every`` asks every queryable, answers not merged (who manages a site);
        ``json`` False sends the payload unlabelled (CDR)."""
        ...

    def reachable(self) -> bool:
        """Whether the transport reaches some other party now (a router or peer)."""
        ...

    def close(self) -> None:
        """Undeclare everything and close (idempotent)."""
        ...
