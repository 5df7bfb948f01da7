"""Zenoh TLS configurations for the router (manager), robots and supervisors.

- :func:`secure_router_config`: the manager's embedded router listening on TLS with mutual
  authentication (a client without a certificate of this CA is refused during the
  handshake) and the access control of :mod:`fleet.security.acl`.
- :func:`robot_config_document` / :func:`write_robot_config`: a self-contained Zenoh client
  configuration (JSON5; certificates and key inlined as base64) that a robot integrator
  passes to ``zenoh.Config.from_file``. It embeds the robot's private key: mode 0600.
- :func:`secure_client_config`: a client configuration from a credentials directory
  (``DIR/supervisors/NAME`` for the CLI, ``DIR/manager`` for a manager joining a router).

TLS endpoints look like ``tls/127.0.0.1:7447``; the name or address a client connects to
must be one of the manager certificate's SANs (``fleet security init --host``), since
clients verify the router's name.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import zenoh

from fleet.comms.config import DEFAULT_CONNECT_TIMEOUT_MS, client_config, router_config
from fleet.errors import SecurityError
from fleet.security.acl import site_access_control
from fleet.security.pki import Authority, Holder, write_private

TLS = "transport/link/tls"


def tls_endpoint(host: str, port: int) -> str:
    """The Zenoh endpoint string ``tls/{host}:{port}`` (IPv6 hosts are bracketed)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"tls/{host}:{port}"


def _b64(path: Path) -> str:
    try:
        return base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        raise SecurityError(f"cannot read {path}: {exc.strerror or exc}") from None


def _tls_section(identity: Path, *, side: str) -> dict[str, Any]:
    """The tls settings for the identity in ``identity`` (cert.pem, key.pem, ca.pem)."""
    return {
        "root_ca_certificate_base64": _b64(identity / "ca.pem"),
        f"{side}_private_key_base64": _b64(identity / "key.pem"),
        f"{side}_certificate_base64": _b64(identity / "cert.pem"),
        "enable_mtls": True,
        "verify_name_on_connect": True,
    }


def _insert(config: zenoh.Config, prefix: str, values: dict[str, Any]) -> None:
    for key, value in values.items():
        config.insert_json5(f"{prefix}/{key}", json.dumps(value))


def secure_router_config(directory: Path, listen: Sequence[str], *, interface: str,
                         connect: Sequence[str] = (), lease_ms: int | None = None
                         ) -> zenoh.Config:
    """The manager's router: TLS with mutual authentication on ``listen`` (``tls/...``
    endpoints) and deny-by-default access control for the directory's active holders.

    Plain ``tcp/`` endpoints are refused: they would bypass the authentication.
    """
    plain = [e for e in listen if not e.startswith(("tls/", "quic/"))]
    if plain:
        raise SecurityError(f"a secure manager listens on tls/ endpoints only, got {plain}")
    authority = Authority.open(directory)
    config = router_config(listen, connect=connect, lease_ms=lease_ms)
    manager = Path(directory) / "manager"
    tls = _tls_section(manager, side="listen")
    tls.update(_tls_section(manager, side="connect"))  # for routers it joins (a mesh)
    _insert(config, TLS, tls)
    config.insert_json5("access_control", json.dumps(site_access_control(authority, interface)))
    return config


def robot_config_document(identity: Path, connect: Sequence[str], *,
                          timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS) -> dict[str, Any]:
    """A Zenoh client configuration (as a dict) for the robot whose files are in ``identity``."""
    if not connect:
        raise SecurityError("a robot configuration needs the manager's tls/ endpoint(s)")
    return {
        "mode": "client",
        "connect": {"endpoints": list(connect), "timeout_ms": timeout_ms,
                    "exit_on_failure": True},
        "scouting": {"multicast": {"enabled": False}},
        "transport": {"link": {"tls": _tls_section(identity, side="connect")}},
    }


def write_robot_config(authority: Authority, robot: Holder, connect: Sequence[str]) -> Path:
    """Write ``zenoh.json5`` next to the robot's certificate (mode 0600); returns its path."""
    where = authority.holder_dir(robot)
    doc = robot_config_document(where, connect)
    text = ("// Zenoh client configuration for robot " + robot.name + " (" + robot.cn + ").\n"
            "// Pass to zenoh.Config.from_file(); it embeds the robot's private key.\n"
            + json.dumps(doc, indent=2) + "\n")
    path = where / "zenoh.json5"
    write_private(path, text.encode())
    return path


def secure_client_config(credentials: Path, connect: Sequence[str], *,
                         timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS,
                         lease_ms: int | None = None) -> zenoh.Config:
    """A TLS client configuration with the identity in ``credentials`` (cert.pem, key.pem,
    ca.pem): a supervisor's for the CLI, or the manager's when it joins a separate router.
    SecurityError naming what is missing when the directory is incomplete."""
    credentials = Path(credentials)
    missing = [n for n in ("cert.pem", "key.pem", "ca.pem") if not (credentials / n).is_file()]
    if missing:
        raise SecurityError(f"credentials {credentials} lack {', '.join(missing)} "
                            "(expected a directory made by `fleet security init`)")
    config = client_config(connect, timeout_ms=timeout_ms, lease_ms=lease_ms)
    _insert(config, TLS, _tls_section(credentials, side="connect"))
    return config
