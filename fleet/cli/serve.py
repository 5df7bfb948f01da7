"""``fleet serve``: the long-running fleet manager."""

from __future__ import annotations

import logging
import math
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from fleet.comms import MqttOptions

log = logging.getLogger(__name__)


def serve(
    listen: list[str] = typer.Option(
        [], "--listen", help="Endpoint the embedded router listens on (repeatable; default "
        "tcp/0.0.0.0:7447)."),
    connect: list[str] = typer.Option(
        [], "--connect", help="Join these routers instead of embedding one (repeatable)."),
    peers: list[str] = typer.Option(
        [], "--peer", help="Router of another manager of the site (or of another site) "
        "that the embedded router meshes with (repeatable; docs/operations.md)."),
    name: str | None = typer.Option(
        None, "--name", help="This manager's name in `fleet status` (default host-pid)."),
    lease_s: float = typer.Option(
        3.0, "--lease-s", min=1.0, max=60.0, help="With PostgreSQL: the leadership lease "
        "(seconds); a standby takes over this long after the leader was last heard."),
    db: str | None = typer.Option(
        None, "--db", envvar="FLEET_DB",
        help="Database URL (default: SQLite file fleet.db here; env FLEET_DB)."),
    interface: str = typer.Option("uagv", "--interface", envvar="FLEET_INTERFACE",
                                  help="VDA 5050 interface name of the site."),
    release_ahead: int = typer.Option(6, "--release-ahead", min=1,
                                      help="Nodes released ahead of a robot (base)."),
    horizon_ahead: int = typer.Option(30, "--horizon-ahead", min=0,
                                      help="Unreleased nodes sent past the base (horizon)."),
    robot_timeout: float = typer.Option(3.0, "--robot-timeout", min=0.1,
                                        help="Seconds of silence before a robot is lost."),
    plan_time_limit: float = typer.Option(5.0, "--plan-time-limit", min=0.5,
                                          help="Solver seconds per (re)planning."),
    plan_process: bool = typer.Option(
        False, "--plan-process/--plan-in-thread", help="Solve plans in a process of their "
        "own, so that a large fleet (hundreds of robots) is heard while the manager plans "
        "(docs/architecture.md)."),
    wait: bool = typer.Option(True, "--wait/--no-wait",
                              help="Missions wait for capable robots instead of failing."),
    lease_ms: int | None = typer.Option(None, "--lease-ms", min=100,
                                        help="Zenoh link lease (faster loss detection)."),
    secure: Path | None = typer.Option(
        None, "--secure", help="Security directory (fleet security init): listen on TLS with "
        "mutual authentication and per-robot access control (default tls/0.0.0.0:7447)."),
    webhooks: list[str] = typer.Option(
        [], "--webhook", help="Also POST alerts (new, escalated, reopened anomalies) to this "
        "URL, signed with HMAC-SHA256 (repeatable; docs/anomalies.md)."),
    webhook_secret_env: str | None = typer.Option(
        None, "--webhook-secret-env", help="Name of the environment variable holding the "
        "webhooks' signing secret (required with --webhook)."),
    speed: float = typer.Option(
        1.0, "--speed", min=0.01, help="World seconds per real second, for a simulated "
        "site (fleet sim run --connect at the same --speed); --robot-timeout is then in "
        "world seconds, and at least 0.75 real seconds."),
    alert_min_severity: str = typer.Option(
        "warning", "--alert-min-severity", help="Anomalies below this severity (info, "
        "warning, alarm, critical) are logged without an alert."),
    maps: list[Path] = typer.Option(
        [], "--map", help="Site map whose fixed sensors (site.meta.sensors) the manager "
        "listens to on {interface}/sensors/* (repeatable; the maps of launched missions "
        "are added too)."),
    mqtt: str | None = typer.Option(
        None, "--mqtt", envvar="FLEET_MQTT", help="Also serve the VDA 5050 robots of this "
        "MQTT broker: mqtt://HOST:PORT, or mqtts://HOST:PORT with --mqtt-identity (env "
        "FLEET_MQTT; docs/protocol.md, MQTT)."),
    mqtt_identity: Path | None = typer.Option(
        None, "--mqtt-identity", help="For mqtts://: a directory with the manager's "
        "cert.pem, key.pem and the site CA's ca.pem (default: SECURE/manager with --secure)."),
    robots_file: Path | None = typer.Option(
        None, "--robots", help="ROS 2 robots to drive (Nav2 over Zenoh: rmw_zenoh or "
        "zenoh-bridge-ros2dds) and how to reach each (docs/ros2.md)."),
) -> None:
    """Run the manager until SIGINT/SIGTERM: embedded router (or --connect), robot
    registry, mission planning and dispatch, liveness, results stored and acknowledged."""
    from fleet.anomaly.alerts import alert_settings
    from fleet.clock import ScaledClock, SystemClock
    from fleet.comms.bus import Bus
    from fleet.comms.config import client_config, router_config
    from fleet.facility import formats
    from fleet.manager import Manager, ManagerSettings, build_manager
    from fleet.manager.leadership import (
        Leadership,
        describe_process,
        fenced_build,
        record_takeover,
        single,
    )
    from fleet.manager.links import RobotLink, VdaZenohLink
    from fleet.store import Store
    from fleet.store.database import fence_writes
    from fleet.store.leases import Lease

    alerts = alert_settings(webhooks, webhook_secret_env, alert_min_severity)
    sites = [(formats.load(m), str(m)) for m in maps]
    ros2 = None
    if robots_file is not None:
        from fleet.manager.ros2_robots import load_robots
        ros2 = load_robots(robots_file)  # MissionError (one line per problem) before serving

    if secure is not None:
        from fleet.security.configs import secure_client_config, secure_router_config
        if connect:
            config = secure_client_config(secure / "manager", connect, lease_ms=lease_ms)
        else:
            listen = listen or ["tls/0.0.0.0:7447"]
            config = secure_router_config(secure, listen, interface=interface,
                                          connect=peers, lease_ms=lease_ms)
    else:
        config = (client_config(connect, lease_ms=lease_ms) if connect
                  else router_config(listen or ["tcp/0.0.0.0:7447"], connect=peers,
                                     lease_ms=lease_ms))
    if not math.isfinite(speed):
        raise typer.BadParameter("speed must be a finite number", param_hint="--speed")
    # build_manager keeps the silence timeout above what the machine can honour on a
    # faster world (fleet.clock.silence_timeout)
    settings = ManagerSettings(interface=interface, release_ahead=release_ahead,
                               horizon_ahead=horizon_ahead,
                               robot_timeout=robot_timeout, plan_time_limit=plan_time_limit,
                               plan_process=plan_process, wait_for_robots=wait)
    clock = SystemClock() if speed == 1 else ScaledClock(speed)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    where = ", ".join(connect) if connect else ", ".join(listen or ["tcp/0.0.0.0:7447"])
    name, info = describe_process(name, list(connect or listen or ["tcp/0.0.0.0:7447"]),
                                  peers)
    broker = _broker(mqtt, mqtt_identity or (secure / "manager" if secure else None), name)
    store = Store.open(db)

    def links(bus: Bus) -> list[RobotLink]:
        made: list[RobotLink] = [VdaZenohLink(bus, interface)]
        if broker is not None:
            from fleet.manager.mqtt_link import VdaMqttLink
            made.append(VdaMqttLink.open(broker, interface))
        if ros2:
            from fleet.manager.ros2_link import Ros2Link
            made.append(Ros2Link(ros2, clock=clock, interface=interface))
        return made

    def make(bus: Bus, made: list[RobotLink]) -> Manager:
        manager = build_manager(store, bus, settings, clock=clock, alerts=alerts,
                                start=False, links=made)
        for site, file in sites:
            manager.sensors.add_site(site, file=file)
        return manager

    try:
        with Bus.open(config) as bus:
            if store.engine.dialect.name == "postgresql":
                lease = Lease(db or "", interface, name, ttl=lease_s, info=info)
                lease.guard(store.engine)
                store.engine.dispose()  # the guard applies to new connections
                fence_writes(store.engine, lease.fence)
                leadership = Leadership(
                    lease, bus, interface,
                    fenced_build(lambda made: make(bus, made), lambda: links(bus), name),
                    on_lead=lambda m, before: record_takeover(m, name, lease.epoch, before),
                    info=info)
                typer.echo(f"fleet manager {name} on {where} (interface {interface}): "
                           "leads or stands by (PostgreSQL lease); Ctrl-C to stop", err=True)
                try:
                    leadership.run(stop)
                finally:
                    lease.close()
            else:
                manager = make(bus, links(bus))
                manager.start()
                members = single(bus, interface, name, info)
                typer.echo(f"fleet manager serving on {where} (interface {interface}); "
                           "Ctrl-C to stop", err=True)
                try:
                    while not stop.wait(0.5):
                        pass
                finally:
                    members.undeclare()
                    manager.stop()
    finally:
        store.close()
    typer.echo("fleet manager stopped", err=True)


def _broker(url: str | None, identity: Path | None, name: str) -> MqttOptions | None:
    """The MQTT broker to serve robots of (None without ``--mqtt``): TLS files from
    ``identity`` for ``mqtts://``; a bad URL or missing file is a usage error."""
    from fleet.comms import MqttOptions

    if url is None:
        return None
    tls = url.startswith("mqtts://")
    if tls and identity is None:
        raise typer.BadParameter("mqtts:// needs --mqtt-identity (or --secure)",
                                 param_hint="--mqtt")
    ca = cert = key = None
    if tls and identity is not None:
        ca, cert, key = identity / "ca.pem", identity / "cert.pem", identity / "key.pem"
        missing = [str(p) for p in (ca, cert, key) if not p.is_file()]
        if missing:
            raise typer.BadParameter(f"no such file: {', '.join(missing)}",
                                     param_hint="--mqtt-identity")
    try:
        return MqttOptions(url, client_id=f"fleet-manager-{name}", ca=ca,
                           cert=cert, key=key)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mqtt") from None
