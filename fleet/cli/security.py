"""``fleet security``: the certificate authority, robot and supervisor certificates."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Certificates and access control of a secured fleet "
                  "(see docs/security.md).", no_args_is_help=True)

DEFAULT_ROBOT_CONNECT = "tls/127.0.0.1:7447"

ConnectOption = typer.Option(
    [], "--connect", help="Manager endpoint written into robot configurations (repeatable; "
    f"default {DEFAULT_ROBOT_CONNECT}); its host must be one of the --host names.")


def _robot_configs(directory: Path, names: list[str], connect: list[str]) -> None:
    from fleet.security.configs import write_robot_config
    from fleet.security.pki import Authority, Role

    authority = Authority.open(directory)
    for name in names:
        holder = authority.find(Role.ROBOT, name)
        assert holder is not None  # just issued
        path = write_robot_config(authority, holder, connect or [DEFAULT_ROBOT_CONNECT])
        typer.echo(f"robot {name}: {holder.cn}, Zenoh configuration {path}")


@app.command()
def init(
    directory: Path = typer.Argument(..., help="New security directory (empty or absent)."),
    robot: list[str] = typer.Option([], "--robot", help="MANUFACTURER/SERIAL (repeatable)."),
    supervisor: list[str] = typer.Option([], "--supervisor", help="Supervisor name "
                                         "(repeatable)."),
    host: list[str] = typer.Option([], "--host", help="Name or address robots and the CLI "
                                   "use to reach the manager (repeatable; default localhost "
                                   "and 127.0.0.1)."),
    connect: list[str] = ConnectOption,
) -> None:
    """Create a certificate authority, the manager's certificate, one per robot (with its
    ready Zenoh configuration) and one per supervisor. Private keys are mode 0600."""
    from fleet.security.pki import DEFAULT_HOSTS, Authority, robot_name, supervisor_name

    for spec in robot:
        robot_name(spec)  # every name checked before anything is written
    for name in supervisor:
        supervisor_name(name)
    authority = Authority.create(directory, hosts=[*DEFAULT_HOSTS, *host])
    typer.echo(f"certificate authority and manager certificate in {directory}")
    names = [authority.add_robot(spec).name for spec in robot]
    _robot_configs(directory, names, connect)
    for name in supervisor:
        holder = authority.add_supervisor(name)
        typer.echo(f"supervisor {name}: {holder.cn}, credentials "
                   f"{authority.holder_dir(holder)}")


@app.command("add-robot")
def add_robot(
    directory: Path = typer.Argument(..., help="Security directory."),
    robot: list[str] = typer.Argument(..., help="MANUFACTURER/SERIAL ..."),
    connect: list[str] = ConnectOption,
) -> None:
    """Issue certificates and Zenoh configurations for more robots (restart the manager
    for its access control to admit them)."""
    from fleet.security.pki import Authority

    authority = Authority.open(directory, need_key=True)
    names = [authority.add_robot(spec).name for spec in robot]
    _robot_configs(directory, names, connect)


@app.command("add-supervisor")
def add_supervisor(
    directory: Path = typer.Argument(..., help="Security directory."),
    name: list[str] = typer.Argument(..., help="Supervisor names."),
) -> None:
    """Issue supervisor credentials (restart the manager for its access control to admit
    them)."""
    from fleet.security.pki import Authority

    authority = Authority.open(directory, need_key=True)
    for n in name:
        holder = authority.add_supervisor(n)
        typer.echo(f"supervisor {n}: {holder.cn}, credentials {authority.holder_dir(holder)}")


@app.command("add-dashboard")
def add_dashboard(
    directory: Path = typer.Argument(..., help="Security directory."),
    name: str = typer.Argument(..., help="The dashboard's name (e.g. control-room)."),
    host: list[str] = typer.Option(..., "--host", help="Name or address browsers use to "
                                   "reach it (repeatable)."),
) -> None:
    """Issue an HTTPS certificate for `fleet dashboard --tls-cert/--tls-key` (it gives no
    access to the site's Zenoh network; docs/dashboard.md)."""
    from fleet.security.pki import Authority

    authority = Authority.open(directory, need_key=True)
    holder = authority.add_dashboard(name, host)
    typer.echo(f"dashboard {name}: {holder.cn} for {', '.join(host)}, certificate "
               f"{authority.holder_dir(holder)}")


@app.command()
def revoke(
    directory: Path = typer.Argument(..., help="Security directory."),
    robot: list[str] = typer.Option([], "--robot", help="MANUFACTURER/SERIAL (repeatable)."),
    supervisor: list[str] = typer.Option([], "--supervisor", help="Name (repeatable)."),
    dashboard: list[str] = typer.Option([], "--dashboard", help="Dashboard name "
                                        "(repeatable)."),
) -> None:
    """Revoke certificates: listed in DIR/crl.pem and dropped from the access control the
    next time the manager starts (restart it now)."""
    from fleet.errors import SecurityError
    from fleet.security.pki import Authority, Role

    if not robot and not supervisor and not dashboard:
        raise SecurityError("name at least one --robot, --supervisor or --dashboard to revoke")
    authority = Authority.open(directory, need_key=True)
    for role, names in ((Role.ROBOT, robot), (Role.SUPERVISOR, supervisor),
                        (Role.DASHBOARD, dashboard)):
        for n in names:
            holder = authority.revoke(role, n)
            typer.echo(f"revoked {role.value} {n} ({holder.cn}); restart the manager")


@app.command("mqtt-config")
def mqtt_config(
    directory: Path = typer.Argument(..., help="Security directory."),
    port: int = typer.Option(8883, "--port", help="TLS port the broker listens on."),
    bind: str | None = typer.Option(None, "--bind", help="Address to listen on (default: "
                                    "every address)."),
    interface: str = typer.Option("uagv", "--interface", envvar="FLEET_INTERFACE",
                                  help="VDA 5050 interface name of the site's topics."),
    user: str | None = typer.Option(None, "--user", help="User a broker started as root "
                                    "switches to (it must be able to read the manager's "
                                    "key)."),
) -> None:
    """Write DIR/mqtt/mosquitto.conf and DIR/mqtt/acl for a Mosquitto broker of MQTT robots:
    TLS with client certificates of this CA, each robot limited to its own topics. Run it
    again after add-robot or revoke, then reload the broker."""
    from fleet.security.mqtt import write_mosquitto_config

    conf = write_mosquitto_config(directory, interface=interface, port=port, bind=bind,
                                  run_as=user)
    typer.echo(f"mosquitto configuration {conf} and ACL {conf.parent / 'acl'}; "
               f"run: mosquitto -c {conf}")


@app.command("list")
def list_(directory: Path = typer.Argument(..., help="Security directory.")) -> None:
    """Every certificate issued: role, name, common name, revoked or not."""
    from fleet.security.pki import Authority

    for h in Authority.open(directory).holders:
        typer.echo(f"{h.role.value:<10} {h.name:<24} {h.cn:<36} "
                   f"{'REVOKED' if h.revoked else 'active'}")
