"""Serving the dashboard: :class:`Options` and :func:`serve` (what ``fleet dashboard`` runs).

uvicorn serves the application (:func:`fleet.dashboard.app.create_app`); with TLS it
presents ``tls_cert`` (a certificate from the site's authority) and, with ``client_ca``,
requires a client certificate signed by that authority from every browser
(``ssl.CERT_REQUIRED``): the certificate's common name says who the supervisor is
(:mod:`fleet.dashboard.access`). uvicorn does not hand the peer's certificate to the
application, so the HTTP protocol here (:class:`PeerCertH11`) adds its common name to each
request's scope (``scope["extensions"]["tls"]["client_cn"]``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from fleet.comms.bus import Bus
from fleet.dashboard.access import Access, check_binding, read_tokens
from fleet.dashboard.app import create_app
from fleet.dashboard.feed import Feed
from fleet.errors import SecurityError, UsageError
from fleet.security.pki import revoked_serials

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """Where and how the dashboard serves; validated by :func:`serve` before it binds."""

    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    """The site authority's certificate (``DIR/ca/cert.pem``): browsers must present a
    supervisor certificate it signed."""
    tokens: Path | None = None
    local_name: str | None = None
    """Who acts from the page when no authentication is configured (loopback only)."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise UsageError(f"--http port must be 1-65535, got {self.port}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise UsageError("--tls-cert and --tls-key go together")
        if self.client_ca is not None and self.tls_cert is None:
            raise UsageError("--client-ca needs TLS: pass --tls-cert and --tls-key too")

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def access(self) -> Access:
        """The authentication these options configure (reads the tokens file, and the
        revocation list of the security directory ``--client-ca`` is in, when there is
        one: ``DIR/crl.pem`` beside ``DIR/ca/cert.pem``)."""
        tokens = read_tokens(self.tokens) if self.tokens is not None else {}
        revoked: set[int] = set()
        if self.client_ca is not None:
            revoked = revoked_serials(self.client_ca.resolve().parent.parent)
        return Access(local_name=self.local_name, client_certs=self.client_ca is not None,
                      tokens=tokens, revoked=frozenset(revoked))


def parse_http(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as a pair; UsageError when malformed."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"--http is HOST:PORT (e.g. 127.0.0.1:8080), got {text!r}")
    return host, int(port)


class PeerCertH11(H11Protocol):
    """uvicorn's h11 protocol, adding the client certificate's common name to the scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peercert")
        cn = _common_name(peer) if isinstance(peer, dict) else None
        if cn is None or not isinstance(peer, dict):
            return
        try:
            serial: int | None = int(str(peer.get("serialNumber")), 16)
        except ValueError:
            serial = None
        inner = self.app

        async def with_cn(scope: Any, receive: Any, send: Any) -> None:
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {**extensions.get("tls", {}), "client_cn": cn,
                                 "client_serial": serial}
            await inner({**scope, "extensions": extensions}, receive, send)

        self.app = with_cn


class Server(uvicorn.Server):
    """uvicorn's server, ending the pages' event streams before it shuts down (else it
    waits for them, then cancels them with a traceback in the log)."""

    def __init__(self, config: uvicorn.Config, feed: Feed) -> None:
        super().__init__(config)
        self.feed = feed

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.feed.end_streams()
        await asyncio.sleep(0.05)  # the streams' last items go out
        await super().shutdown(sockets)


def _common_name(peer: dict[str, Any]) -> str | None:
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def config(options: Options, feed: Feed) -> uvicorn.Config:
    """The uvicorn configuration for ``options`` serving ``feed``; UsageError when the
    binding is refused (:func:`fleet.dashboard.access.check_binding`), SecurityError when
    the TLS files cannot be read."""
    access = options.access()
    check_binding(options.host, tls=options.tls, access=access)
    for path in (options.tls_cert, options.tls_key, options.client_ca):
        if path is not None and not path.is_file():
            raise SecurityError(f"{path} is not a file")
    app = create_app(feed, access, secure_cookie=options.tls)
    tls: dict[str, Any] = {}
    if options.tls:
        tls = {"ssl_certfile": str(options.tls_cert), "ssl_keyfile": str(options.tls_key)}
        if options.client_ca is not None:
            tls |= {"ssl_ca_certs": str(options.client_ca),
                    "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return uvicorn.Config(app, host=options.host, port=options.port, http=PeerCertH11,
                          log_level="warning", access_log=False, lifespan="off",
                          timeout_graceful_shutdown=1, **tls)


def serve(options: Options, opener: Callable[[], Bus], interface: str, *, where: str,
          announce: Callable[[str], object] = logger.info) -> None:
    """Connect to the manager and serve the dashboard until interrupted (blocks). Once the
    options are accepted, ``announce`` gets the page's address in one line."""
    feed = Feed(opener, interface, where=where)
    server_config = config(options, feed)
    try:
        server_config.load()
    except (ssl.SSLError, OSError) as exc:
        raise SecurityError(f"cannot use the TLS certificate or key: {exc}") from None
    scheme = "https" if options.tls else "http"
    host = f"[{options.host}]" if ":" in options.host else options.host
    sock = bind(options.host, options.port)
    announce(f"dashboard of the manager at {where} on {scheme}://{host}:{options.port}/")
    feed.start()
    try:
        Server(server_config, feed).run(sockets=[sock])
    finally:
        feed.close()
        sock.close()


def serve_in_background(options: Options, opener: Callable[[], Bus], interface: str, *,
                        where: str, sock: socket.socket) -> Callable[[], None]:
    """Serve the dashboard on the bound ``sock`` from a thread of its own (``fleet demo
    --dashboard``: the demo's manager lives in this process); returns the function that
    stops it and closes the socket. The feed reconnects by itself as with :func:`serve`."""
    feed = Feed(opener, interface, where=where)
    server_config = config(options, feed)
    server_config.load()
    server = Server(server_config, feed)
    feed.start()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="dashboard", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)
        feed.close()
        sock.close()
    return stop


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port``; UsageError (one line) when that address cannot
    be had (in use, not this machine's). Bound here rather than by uvicorn, which would
    log the error and leave the process."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot serve the dashboard on {host}:{port}: "
                         f"{exc.strerror or exc}") from None
    return sock
