"""The secured fleet on loopback with real TLS: mutual authentication and the router's
access control. Each denial has a control (the same path, allowed) so that it cannot pass
by accident, and fails if its rule is loosened."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import zenoh
from typer.testing import CliRunner

from fleet.agent import AgentConfig, RobotAgent
from fleet.cli.main import app
from fleet.comms.bus import Bus
from fleet.comms.config import client_config, free_port, open_session
from fleet.errors import NotReachable
from fleet.facility import load
from fleet.manager import Manager, ManagerSettings, build_manager
from fleet.security.configs import (
    secure_client_config,
    secure_router_config,
    tls_endpoint,
    write_robot_config,
)
from fleet.security.pki import Authority, Role
from fleet.store import Store
from tests.e2e.fleetkit import TINY_MAP, TINY_MISSION, GraphBody, capabilities, wait_for

pytestmark = pytest.mark.timeout(120)


@contextmanager
def secure_manager(directory: Path, tmp: Path, port: int | None = None
                   ) -> Iterator[tuple[Manager, str]]:
    """A manager whose embedded router listens on TLS with this directory's ACL."""
    endpoint = tls_endpoint("127.0.0.1", port or free_port())
    store = Store.open(None, path=tmp / "fleet.db")
    with Bus.open(secure_router_config(directory, [endpoint], interface="uagv")) as bus:
        manager = build_manager(store, bus, ManagerSettings(robot_timeout=1.5,
                                                            plan_time_limit=1.0))
        try:
            yield manager, endpoint
        finally:
            manager.stop()
    store.close()


def _site(tmp: Path, endpoint: str) -> Path:
    d = tmp / "sec"
    authority = Authority.create(d)
    for spec in ("acme/r1", "acme/r2"):
        write_robot_config(authority, authority.add_robot(spec), [endpoint])
    authority.add_supervisor("alice")
    return d


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, Manager, str]]:
    """A security directory (robots acme/r1, acme/r2, supervisor alice) and its manager."""
    port = free_port()
    directory = _site(tmp_path, tls_endpoint("127.0.0.1", port))
    with secure_manager(directory, tmp_path, port) as (manager, endpoint):
        yield directory, manager, endpoint


def _robot_session(directory: Path, name: str) -> zenoh.Session:
    return open_session(zenoh.Config.from_file(str(directory / "robots" / name / "zenoh.json5")))


def _state(serial: str) -> bytes:
    """A schema-valid state of ``acme/serial``, as a robot would send it."""
    return json.dumps({
        "headerId": 1, "timestamp": "2024-01-01T00:00:00.000Z", "version": "2.1.0",
        "manufacturer": "acme", "serialNumber": serial, "orderId": "", "orderUpdateId": 0,
        "lastNodeId": "dock", "lastNodeSequenceId": 0, "driving": False,
        "operatingMode": "AUTOMATIC", "nodeStates": [], "edgeStates": [],
        "actionStates": [], "errors": [], "safetyState": {"eStop": "NONE",
                                                          "fieldViolation": False},
        "batteryState": {"batteryCharge": 90.0, "charging": False},
    }).encode()


def _serials(manager: Manager) -> set[str]:
    with manager.lock:
        return {r.serial for r in manager.registry.all()}


def _ask(endpoint: str, credentials: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--connect", endpoint, "--credentials",
                                      str(credentials), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_robot_cannot_publish_as_another_robot(site: tuple[Path, Manager, str]) -> None:
    directory, manager, _endpoint = site
    with _robot_session(directory, "acme/r1") as r1:
        r1.put("uagv/v2/acme/r2/state", _state("r2"))   # forged
        r1.put("uagv/v2/acme/r1/state", _state("r1"))   # its own: the control
        assert wait_for(lambda: "r1" in _serials(manager), 10)
        time.sleep(0.5)
        r1.put("uagv/v2/acme/r2/state", _state("r2"))
        r1.liveliness().declare_token("uagv/v2/acme/r2/alive")
        time.sleep(1.0)
    assert "r2" not in _serials(manager)


def test_robot_cannot_read_another_robots_orders(site: tuple[Path, Manager, str]) -> None:
    directory, manager, _endpoint = site
    heard: dict[str, list[str]] = {"r1": [], "r2": []}
    lock = threading.Lock()

    def keep(who: str) -> Any:
        def on(sample: zenoh.Sample) -> None:
            with lock:
                heard[who].append(str(sample.key_expr))
        return on

    with _robot_session(directory, "acme/r1") as r1, _robot_session(directory, "acme/r2") as r2:
        r1.declare_subscriber("uagv/v2/acme/r2/*", keep("r1"))
        r1.declare_subscriber("uagv/**", keep("r1"))
        r2.declare_subscriber("uagv/v2/acme/r2/*", keep("r2"))
        time.sleep(1.0)
        for topic in ("order", "instantActions", "inspectionAck"):
            manager.bus.publish_raw(f"uagv/v2/acme/r2/{topic}", b"{}")
        r2.put("uagv/v2/acme/r2/state", _state("r2"))
        assert wait_for(lambda: len(heard["r2"]) >= 3, 10)   # the control: r2 hears its own
        time.sleep(0.5)
    assert heard["r1"] == []


def test_robot_cannot_use_the_manager_api(site: tuple[Path, Manager, str]) -> None:
    directory, _manager, endpoint = site
    alice = directory / "supervisors" / "alice"
    assert _ask(endpoint, alice, "robots") == []     # the control: a supervisor may
    robot_creds = directory / "robots" / "acme" / "r1"   # has cert.pem, key.pem, ca.pem
    result = CliRunner().invoke(app, ["mission", "launch", str(TINY_MISSION), "--connect",
                                      endpoint, "--credentials", str(robot_creds)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refuses the credentials" in lines[0], lines
    with Bus.open(secure_client_config(robot_creds, [endpoint])) as bus, \
            pytest.raises(NotReachable):
        bus.request("uagv/manager/robots", timeout=1.0)


@pytest.mark.parametrize("verb", [["robots", "reset", "acme/r1"],
                                  ["closures", "reopen", "C-1"]])
def test_only_a_supervisor_may_reset_or_reopen(site: tuple[Path, Manager, str],
                                               verb: list[str]) -> None:
    """The supervisors' actions on gas safety: a robot's certificate gets no answer (the
    API's keys are the supervisors' only), a supervisor's reaches the manager."""
    directory, manager, endpoint = site
    manager.closures.add_site(load(TINY_MAP))
    levels = manager.anomalies.limits_for(None).interlock("p1", "ch4")
    assert manager.closures.observe("p1", "sensor CH4-1", "ch4", 1.62, "%vol", levels)
    args = [*verb, "--note", "made safe", "--by", "ann", "--connect", endpoint,
            "--credentials"]
    robot_creds = directory / "robots" / "acme" / "r1"
    refused = CliRunner().invoke(app, [*args, str(robot_creds)])
    assert refused.exit_code == 2
    [line] = refused.stderr.strip().splitlines()
    assert "refuses the credentials" in line
    assert len(manager.closures.open()) == 1
    # the control: alice's query reaches the manager (which refuses to reset a robot it
    # has never heard of, and reopens the closure)
    alice = CliRunner().invoke(app, [*args, str(directory / "supervisors" / "alice")])
    if verb[0] == "robots":
        assert alice.exit_code == 1 and "no robot acme/r1" in alice.stderr
    else:
        assert alice.exit_code == 0, alice.output
        assert manager.closures.open() == []


def test_only_a_supervisor_may_manage_schedules(site: tuple[Path, Manager, str]) -> None:
    """A robot's certificate cannot add (or see) schedules; a supervisor's can."""
    directory, manager, endpoint = site
    args = ["schedule", "add", str(TINY_MISSION), "--every", "1h", "--tz", "UTC", "--by",
            "ann", "--connect", endpoint, "--credentials"]
    refused = CliRunner().invoke(app, [*args, str(directory / "robots" / "acme" / "r1")])
    assert refused.exit_code == 2 and "refuses the credentials" in refused.stderr
    assert manager.store.schedules() == []
    alice = CliRunner().invoke(app, [*args, str(directory / "supervisors" / "alice")])
    assert alice.exit_code == 0, alice.output
    assert [s.created_by for s in manager.store.schedules()] == ["ann"]


def test_client_without_certificate_cannot_connect(site: tuple[Path, Manager, str]) -> None:
    directory, _manager, endpoint = site
    # plain TCP to the TLS port, then TLS trusting the CA but without a client certificate
    with pytest.raises(NotReachable):
        open_session(client_config([endpoint.replace("tls/", "tcp/")], timeout_ms=1000)).close()
    config = client_config([endpoint], timeout_ms=1000)
    config.insert_json5("transport/link/tls/root_ca_certificate",
                        json.dumps(str(directory / "ca" / "cert.pem")))
    with pytest.raises(NotReachable):
        open_session(config).close()
    # the CLI without credentials says what is missing, in one line
    result = CliRunner().invoke(app, ["robots", "--connect", endpoint])
    assert result.exit_code == 2 and "--credentials" in result.stderr


def test_certificate_from_another_authority_cannot_connect(
        site: tuple[Path, Manager, str], tmp_path: Path) -> None:
    _directory, _manager, endpoint = site
    other = Authority.create(tmp_path / "other")
    other.add_supervisor("alice")   # same name, same common name, other CA
    with pytest.raises(NotReachable):
        open_session(secure_client_config(other.directory / "supervisors" / "alice",
                                          [endpoint], timeout_ms=1000)).close()


def test_revoked_supervisor_is_refused_after_restart(tmp_path: Path) -> None:
    directory = _site(tmp_path, "tls/127.0.0.1:7447")
    alice = directory / "supervisors" / "alice"
    kept = tmp_path / "alice-kept"   # the revoked holder kept a copy of its files
    kept.mkdir()
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (kept / name).write_bytes((alice / name).read_bytes())
    with secure_manager(directory, tmp_path) as (_manager, endpoint):
        assert _ask(endpoint, kept, "robots") == []   # the control: admitted before
    Authority.open(directory, need_key=True).revoke(Role.SUPERVISOR, "alice")
    with secure_manager(directory, tmp_path) as (_manager, endpoint):
        result = CliRunner().invoke(app, ["robots", "--connect", endpoint,
                                          "--credentials", str(kept)])
        assert result.exit_code == 2 and "refuses the credentials" in result.stderr


def test_secured_mission_completes(site: tuple[Path, Manager, str]) -> None:
    directory, manager, endpoint = site
    alice = directory / "supervisors" / "alice"
    fac = load(TINY_MAP)
    agents = []
    try:
        for serial in ("r1", "r2"):
            config_file = directory / "robots" / "acme" / serial / "zenoh.json5"
            bus = Bus.open(zenoh.Config.from_file(str(config_file)))
            agent = RobotAgent(AgentConfig("acme", serial, capabilities(), state_interval=0.5,
                                           resend_after=0.5), GraphBody(fac, "dock"), bus=bus)
            agent.start()
            agents.append((agent, bus))
        assert wait_for(lambda: len([r for r in _ask(endpoint, alice, "robots")
                                     if r["sensors"]]) == 2, 30)
        mid = _ask(endpoint, alice, "mission", "launch", str(TINY_MISSION))["mission_id"]
        assert wait_for(lambda: _ask(endpoint, alice, "mission", "status", mid)["status"]
                        == "completed", 60)
        assert manager.store.count_results(mid) == 2
    finally:
        for agent, bus in agents:
            agent.stop()
            bus.close()


def test_embedded_manager_is_not_subject_to_the_acl(tmp_path: Path) -> None:
    """The manager's session is the router itself: its local traffic passes even with no
    rule naming the manager's certificate (which therefore guards only a remote manager)."""
    port = free_port()
    directory = _site(tmp_path, tls_endpoint("127.0.0.1", port))
    endpoint = tls_endpoint("127.0.0.1", port)
    config = secure_router_config(directory, [endpoint], interface="uagv")
    acl = json.loads(config.get_json("access_control"))
    acl["policies"] = [p for p in acl["policies"] if p["subjects"] != ["manager"]]
    acl["subjects"] = [s for s in acl["subjects"] if s["id"] != "manager"]
    config.insert_json5("access_control", json.dumps(acl))
    heard: list[str] = []
    with Bus.open(config) as bus, _robot_session(directory, "acme/r1") as r1:
        got: list[str] = []
        bus.subscribe_raw("uagv/v2/*/*/state", lambda k, p: got.append("state"))
        r1.declare_subscriber("uagv/v2/acme/r1/*", lambda s: heard.append(str(s.key_expr)))
        time.sleep(1.0)
        r1.put("uagv/v2/acme/r1/state", _state("r1"))
        bus.publish_raw("uagv/v2/acme/r1/order", b"{}")
        assert wait_for(lambda: got == ["state"] and "uagv/v2/acme/r1/order" in heard, 10)


def test_a_supervisor_hears_the_alerts_and_a_robot_does_not(
        site: tuple[Path, Manager, str]) -> None:
    directory, manager, endpoint = site
    heard: dict[str, list[bytes]] = {"alice": [], "r1": []}
    lock = threading.Lock()

    def keep(who: str) -> Any:
        def on(sample: zenoh.Sample) -> None:
            with lock:
                heard[who].append(sample.payload.to_bytes())
        return on

    alice = secure_client_config(directory / "supervisors" / "alice", [endpoint])
    with Bus.open(alice) as sup, _robot_session(directory, "acme/r1") as r1:
        sup.subscribe_raw("uagv/manager/alerts",
                          lambda _key, payload: heard["alice"].append(payload))
        r1.declare_subscriber("uagv/manager/alerts", keep("r1"))
        r1.declare_subscriber("uagv/**", keep("r1"))
        time.sleep(1.0)
        manager.bus.publish_raw("uagv/manager/alerts", b'{"anomaly": 1}')
        assert wait_for(lambda: heard["alice"] == [b'{"anomaly": 1}'], 10)
        time.sleep(0.5)
    assert heard["r1"] == []


def test_a_supervisor_hears_the_live_feed_and_a_robot_does_not(
        site: tuple[Path, Manager, str]) -> None:
    """The dashboards' feed (fleet.manager.live) names every robot and anomaly of the site:
    a supervisor's session subscribes to it and asks for the whole state; a robot's
    subscription gets nothing, and its query no answer."""
    directory, _manager, endpoint = site
    heard: dict[str, list[str]] = {"alice": [], "r1": []}
    lock = threading.Lock()

    def on_robot(sample: zenoh.Sample) -> None:
        with lock:
            heard["r1"].append(str(sample.key_expr))

    alice = secure_client_config(directory / "supervisors" / "alice", [endpoint])
    with Bus.open(alice) as sup, _robot_session(directory, "acme/r1") as r1:
        sup.subscribe_raw("uagv/manager/live/**",
                          lambda key, _payload: heard["alice"].append(key))
        sup.subscribe_raw("uagv/manager/live", lambda key, _payload: heard["alice"].append(key))
        r1.declare_subscriber("uagv/manager/live", on_robot)
        r1.declare_subscriber("uagv/manager/live/**", on_robot)
        assert wait_for(lambda: "uagv/manager/live" in heard["alice"], 10)
        snapshot = sup.request("uagv/manager/live/snapshot", timeout=5.0)
        assert snapshot["full"] is True and snapshot["v"] == 1
        replies = list(r1.get("uagv/manager/live/snapshot", timeout=2.0))
        assert not [r for r in replies if r.ok is not None]
        time.sleep(1.0)  # two more ticks of the feed
    assert heard["r1"] == []
