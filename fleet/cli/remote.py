"""The CLI's seam to a running manager: one client session, one query per command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

DEFAULT_CONNECT = "tcp/127.0.0.1:7447"

ConnectOption = typer.Option(
    None, "--connect", envvar="FLEET_CONNECT",
    help=f"Router endpoint of the manager (default {DEFAULT_CONNECT}; env FLEET_CONNECT).")
InterfaceOption = typer.Option(
    "uagv", "--interface", envvar="FLEET_INTERFACE",
    help="VDA 5050 interface name of the site (e.g. site-a/uagv; env FLEET_INTERFACE).")
DEFAULT_SECURE_CONNECT = "tls/127.0.0.1:7447"
CredentialsOption = typer.Option(
    None, "--credentials", envvar="FLEET_CREDENTIALS",
    help="Supervisor credentials for a secured manager (DIR/supervisors/NAME from `fleet "
    f"security init`; default endpoint then {DEFAULT_SECURE_CONNECT}; env FLEET_CREDENTIALS).")
ByOption = typer.Option(None, "--by", help="Your name (default: env FLEET_USER, else your "
                        "login name).")
"""Who a supervisor's action is recorded as (see ``fleet.cli.anomalies.who``)."""


def ask(connect: str | None, interface: str, verb: str, body: Any = None, *,
        timeout: float = 5.0, credentials: Path | None = None) -> Any:
    """Send one query to the manager and return its JSON answer.

    Raises :class:`fleet.errors.NotReachable` (exit 2 at the CLI) when no router or no
    manager answers, and :class:`fleet.errors.FleetError` with the manager's reason when it
    refuses the request. With ``credentials`` (or env ``FLEET_CREDENTIALS``) the query goes
    over TLS with that supervisor certificate; a secured manager whose access control does
    not admit it gives no answer, which is reported as such in one line.
    """
    from fleet.comms.bus import Bus
    from fleet.errors import NotReachable
    from fleet.manager.api import api_key

    creds = credentials or os.environ.get("FLEET_CREDENTIALS") or None
    endpoint, config = session_config(connect, credentials)
    with Bus.open(config) as bus:
        try:
            return bus.request(api_key(interface, verb), body, timeout=timeout)
        except NotReachable:
            if creds is not None:
                raise NotReachable(
                    f"no manager answered at {endpoint} (interface {interface}): it is not "
                    f"running, or it refuses the credentials {creds} (not a supervisor of "
                    "this site, or revoked)") from None
            raise NotReachable(f"no manager answered at {endpoint} "
                               f"(interface {interface}); is `fleet serve` running?") from None


def gather(connect: str | None, key_expr: str, *, timeout: float = 2.0,
           credentials: Path | None = None) -> list[Any]:
    """Every answer to a query on ``key_expr`` (every manager process answering it; empty
    when none does). NotReachable when no router answers."""
    from fleet.comms.bus import Bus

    _endpoint, config = session_config(connect, credentials)
    with Bus.open(config) as bus:
        return bus.gather(key_expr, timeout=timeout)


def leader_line(connect: str | None, interface: str, credentials: Path | None) -> str | None:
    """``led by NAME (epoch E); standing by: ...`` for a site whose managers stand by
    for each other; None for a single manager or when none answers."""
    from fleet.errors import FleetError
    from fleet.manager.leadership import members_key

    try:
        members = gather(connect, members_key(interface), timeout=1.0,
                         credentials=credentials)
    except FleetError:  # the robots were listed: who leads is a footnote
        return None
    if not members or all(m.get("role") == "single" for m in members):
        return None
    leaders = [f"{m['name']} (epoch {m['epoch']})" for m in members if m.get("role") == "leader"]
    standbys = sorted(str(m["name"]) for m in members if m.get("role") == "standby")
    return (f"led by {', '.join(leaders) or 'nobody at this moment'}"
            + (f"; standing by: {', '.join(standbys)}" if standbys else ""))


def session_config(connect: str | None, credentials: Path | None, *,
                   timeout_ms: int = 2000) -> tuple[str, Any]:
    """The endpoint and the Zenoh client configuration the CLI's options name (``--connect``,
    ``--credentials`` and their environment variables): TLS with the supervisor's
    certificate when there are credentials. NotReachable (one line) for a secured endpoint
    without credentials or a malformed endpoint."""
    from fleet.comms.config import client_config
    from fleet.errors import NotReachable

    creds = credentials or os.environ.get("FLEET_CREDENTIALS") or None
    endpoint = (connect or os.environ.get("FLEET_CONNECT")
                or (DEFAULT_SECURE_CONNECT if creds else DEFAULT_CONNECT))
    if creds is None and endpoint.startswith(("tls/", "quic/")):
        raise NotReachable(f"{endpoint} is a secured manager: pass --credentials "
                           "DIR/supervisors/NAME (or set FLEET_CREDENTIALS)")
    try:
        if creds is not None:
            from fleet.security.configs import secure_client_config
            return endpoint, secure_client_config(Path(creds), [endpoint],
                                                  timeout_ms=timeout_ms)
        return endpoint, client_config([endpoint], timeout_ms=timeout_ms)
    except ValueError as exc:
        raise NotReachable(f"bad --connect endpoint {endpoint!r}: {exc}") from None
