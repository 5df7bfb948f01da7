"""The CLI's seam to a running manager: one client session, one query per command."""

from __future__ import annotations

import os
from typing import Any

import typer

DEFAULT_CONNECT = "tcp/127.0.0.1:7447"

ConnectOption = typer.Option(
    None, "--connect", envvar="FLEET_CONNECT",
    help=f"Router endpoint of the manager (default {DEFAULT_CONNECT}; env FLEET_CONNECT).")
InterfaceOption = typer.Option(
    "uagv", "--interface", envvar="FLEET_INTERFACE",
    help="VDA 5050 interface name of the site (e.g. site-a/uagv; env FLEET_INTERFACE).")


def ask(connect: str | None, interface: str, verb: str, body: Any = None, *,
        timeout: float = 5.0) -> Any:
    """Send one query to the manager and return its JSON answer.

    Raises :class:`fleet.errors.NotReachable` (exit 2 at the CLI) when no router or no
    manager answers, and :class:`fleet.errors.FleetError` with the manager's reason when it
    refuses the request.
    """
    from fleet.comms.bus import Bus
    from fleet.comms.config import client_config
    from fleet.errors import NotReachable
    from fleet.manager.api import api_key

    endpoint = connect or os.environ.get("FLEET_CONNECT") or DEFAULT_CONNECT
    try:
        config = client_config([endpoint], timeout_ms=2000)
    except ValueError as exc:
        raise NotReachable(f"bad --connect endpoint {endpoint!r}: {exc}") from None
    with Bus.open(config) as bus:
        try:
            return bus.request(api_key(interface, verb), body, timeout=timeout)
        except NotReachable:
            raise NotReachable(f"no manager answered at {endpoint} "
                               f"(interface {interface}); is `fleet serve` running?") from None
