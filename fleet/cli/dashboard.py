"""``fleet dashboard``: serve a live page of a running manager (docs/dashboard.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from fleet.cli.remote import (
    ByOption,
    ConnectOption,
    CredentialsOption,
    InterfaceOption,
    session_config,
)


def dashboard(
    http: str = typer.Option("127.0.0.1:8080", "--http", metavar="HOST:PORT",
                             help="Where to serve the page (loopback unless told otherwise; "
                             "anywhere else needs --tls-cert/--tls-key and --client-ca "
                             "and/or --tokens)."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="HTTPS certificate (PEM) "
                                         "issued by the site's authority."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="Its private key (PEM)."),
    client_ca: Path | None = typer.Option(
        None, "--client-ca", help="Require browser client certificates signed by this "
        "authority (DIR/ca/cert.pem from `fleet security init`); the supervisor is the "
        "certificate's name."),
    tokens: Path | None = typer.Option(None, "--tokens", help="A file of `NAME TOKEN` "
                                       "lines: one bearer token per supervisor."),
    by: str | None = ByOption,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
) -> None:
    """Serve a live page of the manager: the site map with the robots moving on it, the
    missions' progress, the open anomalies (acknowledge, resolve), lockouts, closures, held
    single-lane blocks, the coming schedule runs and a point's trend. Runs until
    interrupted; it reconnects by itself when the manager comes back."""
    from fleet.cli.anomalies import who
    from fleet.comms.bus import Bus
    from fleet.dashboard.server import Options, parse_http, serve

    host, port = parse_http(http)
    local_name = by or (credentials.name if credentials is not None else None)
    if local_name is None:
        try:
            local_name = who(None)
        except typer.BadParameter:
            local_name = None  # actions then need --by (the page says so)
    options = Options(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key,
                      client_ca=client_ca, tokens=tokens, local_name=local_name)
    endpoint, _config = session_config(connect, credentials)
    # a new configuration per session: the feed reopens one after the manager went away
    serve(options, lambda: Bus.open(session_config(connect, credentials)[1]), interface,
          where=endpoint, announce=lambda line: typer.echo(line, err=True))
