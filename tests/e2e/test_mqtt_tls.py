"""A manager and a robot agent on the TLS broker of ``fleet security mqtt-config``, each
with its certificate from the site's authority: the robot joins, and is lost through its
last will when its connection dies (missions over MQTT: test_mqtt.py, test_vda20_robot.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet.agent import AgentConfig, RobotAgent
from fleet.agent.mqtt import robot_options
from fleet.comms import Bus, MqttOptions, MqttTransport
from fleet.comms.config import free_port, router_config, tcp_endpoint
from fleet.facility import load
from fleet.manager import ManagerSettings, RobotStatus, build_manager
from fleet.manager.links import RobotId
from fleet.manager.mqtt_link import VdaMqttLink
from fleet.security.pki import Authority
from fleet.store import Store

from .fleetkit import TINY_MAP, GraphBody, capabilities, wait_for

pytestmark = pytest.mark.timeout(120)


def test_a_tls_robot_joins_and_is_lost_by_its_will(tmp_path: Path,
                                                   mqtt_brokers: Any) -> None:
    security = tmp_path / "sec"
    Authority.create(security).add_robot("acme/r1")
    broker = mqtt_brokers(security=security)
    me = security / "manager"
    link = VdaMqttLink.open(MqttOptions(broker.url, client_id="fleet-manager", ca=me / "ca.pem",
                                        cert=me / "cert.pem", key=me / "key.pem"), "uagv")
    store = Store.open(None, path=tmp_path / "fleet.db")
    with Bus.open(router_config([tcp_endpoint("127.0.0.1", free_port())])) as bus:
        manager = build_manager(store, bus, ManagerSettings(plan_time_limit=1.0), links=[link])
        transport = MqttTransport.open(robot_options(
            broker.url, "uagv", "acme", "r1", identity=security / "robots" / "acme" / "r1"))
        agent = RobotAgent(AgentConfig("acme", "r1", capabilities(), state_interval=0.5),
                           GraphBody(load(TINY_MAP), "dock", speedup=20.0),
                           bus=Bus(transport))
        try:
            agent.start()
            assert wait_for(lambda: (r := manager.registry.find("r1")) is not None
                            and r.factsheet is not None, 10)
            entry = manager.registry.find("r1")
            assert entry is not None and entry.status is RobotStatus.ONLINE and entry.alive
            transport.sever()  # a crash: no OFFLINE, the connection just ends
            assert wait_for(lambda: entry.status is RobotStatus.CONNECTION_BROKEN, 10)
        finally:
            agent.stop()
            transport.close()
            manager.stop()
            link.close()
    store.close()


def test_a_broker_outage_loses_no_robot(tmp_path: Path, mqtt_brokers: Any) -> None:
    """The manager's broker goes for longer than the robots' timeout and comes back: the
    silence was the manager's, so no robot is lost and none of its work handed over."""
    broker = mqtt_brokers()
    link = VdaMqttLink.open(MqttOptions(broker.url, client_id="fleet-manager"), "uagv")
    store = Store.open(None, path=tmp_path / "fleet.db")
    with Bus.open(router_config([tcp_endpoint("127.0.0.1", free_port())])) as bus:
        manager = build_manager(store, bus, ManagerSettings(robot_timeout=1.0), links=[link])
        transport = MqttTransport.open(robot_options(broker.url, "uagv", "acme", "r1"))
        agent = RobotAgent(AgentConfig("acme", "r1", capabilities(), state_interval=0.2),
                           GraphBody(load(TINY_MAP), "dock"), bus=Bus(transport))
        try:
            agent.start()
            assert wait_for(lambda: (r := manager.registry.find("r1")) is not None
                            and r.factsheet is not None, 10)
            entry = manager.registry.find("r1")
            assert entry is not None
            broker.stop()
            assert wait_for(lambda: not link.reachable(RobotId("acme", "r1")), 10)
            # the outage itself, past the robot's timeout (1 s) and heartbeat (0.5 s)
            assert not wait_for(lambda: entry.status is RobotStatus.CONNECTION_BROKEN, 3.0)
            broker.start()
            # back: the robot publishes its ONLINE again, its states flow on
            assert wait_for(lambda: entry.status is RobotStatus.ONLINE and entry.alive, 15)
            assert manager.liveness.declared == 0
        finally:
            agent.stop()
            transport.close()
            manager.stop()
            link.close()
    store.close()
