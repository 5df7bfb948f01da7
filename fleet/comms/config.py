"""Zenoh configurations and session opening.

- :func:`router_config`: a session in ``router`` mode that listens (the manager's embedded
  router, or a site router); it may also connect to other routers to form a mesh.
- :func:`client_config`: a session in ``client`` mode that connects to routers (robots, the
  CLI). Its connect timeout makes :func:`open_session` fail after ``timeout_ms`` instead of
  retrying for ever.
- :func:`open_session`: ``zenoh.open`` that raises :class:`~fleet.errors.NotReachable` with
  one plain line when no router answers (or a router cannot listen).
- :func:`free_port`: a free TCP port on loopback, for tests.

Multicast scouting is off unless asked for: sessions find each other through the listed
endpoints only, which keeps tests on loopback and sites deterministic. ``lease_ms`` lowers
the link lease (Zenoh's default is 10 s) so that a lost robot's liveliness token disappears
within about ``lease_ms`` (keep-alives go out 4 times per lease); set it on the side whose
loss must be detected fast - each side of a link advertises its own lease, and the other
side declares the link dead when that lease passes in silence.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence

import zenoh

from fleet.errors import NotReachable

DEFAULT_CONNECT_TIMEOUT_MS = 3000
"""How long a client keeps trying to reach a router before :func:`open_session` gives up."""

KEEP_ALIVES_PER_LEASE = 4


def _config(mode: str, *, multicast_scouting: bool, lease_ms: int | None) -> zenoh.Config:
    config = zenoh.Config()
    config.insert_json5("mode", json.dumps(mode))
    config.insert_json5("scouting/multicast/enabled", json.dumps(multicast_scouting))
    if lease_ms is not None:
        if lease_ms < 100:
            raise ValueError(f"lease_ms must be at least 100, got {lease_ms}")
        config.insert_json5("transport/link/tx/lease", str(int(lease_ms)))
        config.insert_json5("transport/link/tx/keep_alive", str(KEEP_ALIVES_PER_LEASE))
    return config


def router_config(
    listen: Sequence[str],
    *,
    connect: Sequence[str] = (),
    multicast_scouting: bool = False,
    lease_ms: int | None = None,
) -> zenoh.Config:
    """A router listening on ``listen`` (e.g. ``["tcp/0.0.0.0:7447"]``).

    ``connect`` lists other routers to join (a mesh across sites); the router keeps retrying
    them in the background. Opening fails if a listen endpoint cannot be bound.
    """
    if not listen:
        raise ValueError("a router needs at least one listen endpoint")
    config = _config("router", multicast_scouting=multicast_scouting, lease_ms=lease_ms)
    config.insert_json5("listen/endpoints", json.dumps(list(listen)))
    config.insert_json5("listen/exit_on_failure", "true")
    if connect:
        config.insert_json5("connect/endpoints", json.dumps(list(connect)))
    return config


def client_config(
    connect: Sequence[str],
    *,
    timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS,
    multicast_scouting: bool = False,
    lease_ms: int | None = None,
) -> zenoh.Config:
    """A client of the routers at ``connect`` (e.g. ``["tcp/10.0.0.5:7447"]``).

    :func:`open_session` retries for ``timeout_ms`` milliseconds, then raises NotReachable.
    Once open, the client reconnects by itself when its router comes back.
    """
    if not connect:
        raise ValueError("a client needs at least one router endpoint to connect to")
    if timeout_ms < 0:
        raise ValueError(f"timeout_ms must be >= 0, got {timeout_ms}")
    config = _config("client", multicast_scouting=multicast_scouting, lease_ms=lease_ms)
    config.insert_json5("connect/endpoints", json.dumps(list(connect)))
    config.insert_json5("connect/timeout_ms", str(int(timeout_ms)))
    config.insert_json5("connect/exit_on_failure", "true")
    return config


def _endpoints(config: zenoh.Config, key: str) -> str:
    try:
        value = json.loads(config.get_json(key))
    except (ValueError, TypeError, zenoh.ZError):
        return "?"
    if isinstance(value, dict):  # mode-dependent form {router: [...], peer: [...], client: [...]}
        value = [e for v in value.values() if isinstance(v, list) for e in v]
    return ", ".join(str(e) for e in value) if isinstance(value, list) and value else "-"


def _plain(exc: BaseException) -> str:
    # zenoh appends " at /path/to/source.rs:123." to its messages; a user needs none of it
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    cut = text.find(" at /")
    return (text[:cut] if cut > 0 else text).rstrip(". ")


def open_session(config: zenoh.Config) -> zenoh.Session:
    """Open a Zenoh session; NotReachable (one line) when it cannot connect or listen.

    The session is a context manager; close it (or leave the ``with``) so that callback
    subscribers do not keep the process alive at exit.
    """
    try:
        return zenoh.open(config)
    except zenoh.ZError as exc:
        try:
            mode = json.loads(config.get_json("mode"))
        except (ValueError, TypeError, zenoh.ZError):
            mode = "?"
        if mode == "router":
            where = _endpoints(config, "listen/endpoints")
            raise NotReachable(f"cannot start a Zenoh router on {where}: {_plain(exc)}") from None
        where = _endpoints(config, "connect/endpoints")
        raise NotReachable(f"no Zenoh router reachable at {where}: {_plain(exc)}") from None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (for tests; racy by nature)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def tcp_endpoint(host: str, port: int) -> str:
    """The Zenoh endpoint string ``tcp/{host}:{port}`` (IPv6 hosts are bracketed)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"tcp/{host}:{port}"
