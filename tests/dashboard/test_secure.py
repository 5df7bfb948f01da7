"""The dashboard on a secured site: HTTPS with a certificate from the site's authority
(`fleet security init`), browsers' client certificates required; a request without one is
refused at the handshake, a robot's certificate and a revoked supervisor's are refused
(403), a supervisor's admitted
and its actions recorded under the supervisor's name."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from typer.testing import CliRunner

from fleet.cli.main import app as cli
from fleet.comms import Bus, MemoryNetwork, free_port
from fleet.dashboard.feed import Feed
from fleet.dashboard.server import Options, Server, config
from fleet.security.acl import site_access_control
from fleet.security.pki import Authority
from tests.dashboard.fakes import ITF, FakeManager, anomaly, robot

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    d = tmp_path / "sec"
    result = CliRunner().invoke(cli, ["security", "init", str(d), "--robot", "acme/r1",
                                      "--supervisor", "alice", "--supervisor", "bob"])
    assert result.exit_code == 0, result.output
    # bob leaves: his certificate is revoked, but he kept a copy of his key
    kept = (d / "supervisors" / "bob" / "key.pem").read_bytes()
    result = CliRunner().invoke(cli, ["security", "revoke", str(d), "--supervisor", "bob"])
    assert result.exit_code == 0, result.output
    (d / "supervisors" / "bob" / "key.pem").write_bytes(kept)
    result = CliRunner().invoke(cli, ["security", "add-dashboard", str(d), "control-room",
                                      "--host", "127.0.0.1", "--host", "localhost"])
    assert result.exit_code == 0, result.output
    return d


@pytest.fixture
def dashboard(site: Path) -> Iterator[tuple[str, FakeManager]]:
    network = MemoryNetwork()
    manager = FakeManager(network)
    manager.publish(robots=[robot("r1")], anomalies=[anomaly(7)])
    feed = Feed(lambda: Bus(network.transport()), ITF, where="memory")
    feed.step()
    port = free_port()
    web = site / "dashboards" / "control-room"
    options = Options(host="127.0.0.1", port=port, tls_cert=web / "cert.pem",
                      tls_key=web / "key.pem", client_ca=site / "ca" / "cert.pem")
    server = Server(config(options, feed), feed)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}", manager
    server.should_exit = True
    thread.join(timeout=10)
    feed.close()
    network.close()


def client(site: Path, holder: Path | None) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(site / "ca" / "cert.pem"))
    if holder is not None:
        context.load_cert_chain(holder / "cert.pem", holder / "key.pem")
    return httpx.Client(verify=context, timeout=5)


def test_only_supervisors_certificates_are_admitted(
        site: Path, dashboard: tuple[str, FakeManager]) -> None:
    url, manager = dashboard
    # refused in the TLS handshake (with TLS 1.3 the client sees the server hang up)
    with client(site, None) as anonymous, pytest.raises(httpx.TransportError):
        anonymous.get(f"{url}/api/state")
    with client(site, site / "robots" / "acme" / "r1") as as_robot:
        answer = as_robot.get(f"{url}/api/state")
        assert answer.status_code == 403 and "robot's certificate" in answer.text
        refused = as_robot.post(f"{url}/api/anomalies/7/ack", json={"note": "x"})
        assert refused.status_code == 403 and "\n" not in refused.text
    with client(site, site / "supervisors" / "bob") as bob:
        answer = bob.get(f"{url}/api/state")
        assert (answer.status_code, answer.text) == (403, "this certificate is revoked")
    with client(site, site / "supervisors" / "alice") as alice:
        assert alice.get(f"{url}/api/whoami").json() == {"supervisor": "alice"}
        assert alice.get(f"{url}/").status_code == 200
        answer = alice.post(f"{url}/api/anomalies/7/ack", json={"note": "on my way"})
        assert answer.status_code == 200, answer.text
    assert manager.actions == [("ack", {"id": 7, "by": "alice", "note": "on my way"})]


def test_a_public_binding_with_tls_and_client_certificates_is_accepted(site: Path) -> None:
    feed = Feed(lambda: Bus(MemoryNetwork().transport()), ITF, where="memory")
    web = site / "dashboards" / "control-room"
    options = Options(host="0.0.0.0", port=8443, tls_cert=web / "cert.pem",
                      tls_key=web / "key.pem", client_ca=site / "ca" / "cert.pem")
    assert config(options, feed).ssl_cert_reqs == ssl.CERT_REQUIRED


def test_a_dashboards_certificate_serves_https_and_nothing_else(site: Path) -> None:
    cert = x509.load_pem_x509_certificate(
        (site / "dashboards" / "control-room" / "cert.pem").read_bytes())
    name = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert name == "dashboard/control-room/g1"
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [x509.ExtendedKeyUsageOID.SERVER_AUTH]  # no client use: no Zenoh
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    acl = json.dumps(site_access_control(Authority.open(site), "uagv"))
    assert "dashboard/" not in acl and "supervisor/alice/g1" in acl
    result = CliRunner().invoke(cli, ["security", "add-dashboard", str(site), "wall"])
    assert result.exit_code == 2  # --host is required


def test_a_real_dashboard_reaches_a_secured_manager_with_a_supervisors_credentials(
        tmp_path: Path) -> None:
    """`fleet dashboard --credentials` against a real `fleet serve --secure`: with a
    supervisor's credentials the page is live, with a robot's it is not (the site's access
    control keeps robots off the live feed and its snapshot)."""
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("FLEET_CREDENTIALS", None)
    env.pop("FLEET_CONNECT", None)
    endpoint = f"tls/127.0.0.1:{free_port()}"
    sec = tmp_path / "sec"
    init = CliRunner().invoke(cli, ["security", "init", str(sec), "--robot", "acme/r1",
                                    "--supervisor", "alice", "--connect", endpoint])
    assert init.exit_code == 0, init.output

    def fleet(*args: str, log: str) -> subprocess.Popen[bytes]:
        with (tmp_path / log).open("wb") as out:
            return subprocess.Popen([sys.executable, "-m", "fleet", *args], cwd=root,
                                    env=env, stdout=out, stderr=subprocess.STDOUT)

    def dashboard(holder: Path, log: str) -> tuple[str, subprocess.Popen[bytes]]:
        port = free_port()
        process = fleet("dashboard", "--connect", endpoint, "--credentials", str(holder),
                        "--http", f"127.0.0.1:{port}", log=log)
        return f"http://127.0.0.1:{port}", process

    def state(url: str) -> dict[str, object] | None:
        try:
            answer = httpx.get(f"{url}/api/state", timeout=2)
        except httpx.TransportError:
            return None  # not serving yet
        assert answer.status_code == 200, answer.text
        found: dict[str, object] = answer.json()
        return found

    def stop(process: subprocess.Popen[bytes], log: str) -> None:
        process.send_signal(signal.SIGINT if "dashboard" in log else signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    manager = fleet("serve", "--secure", str(sec), "--listen", endpoint,
                    "--db", f"sqlite:///{tmp_path / 'fleet.db'}", log="serve.log")
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        alice_url, alice = dashboard(sec / "supervisors" / "alice", "dashboard-alice.log")
        started.append((alice, "dashboard-alice.log"))
        robot_url, as_robot = dashboard(sec / "robots" / "acme" / "r1", "dashboard-robot.log")
        started.append((as_robot, "dashboard-robot.log"))
        deadline = time.monotonic() + 40
        seen: dict[str, object] | None = None
        while time.monotonic() < deadline:
            seen = state(alice_url)
            if seen is not None and seen.get("connected"):
                break
            assert alice.poll() is None, (tmp_path / "dashboard-alice.log").read_text()
            time.sleep(0.5)
        assert seen is not None and seen.get("connected") is True, (
            seen, (tmp_path / "dashboard-alice.log").read_text())
        # the robot's dashboard serves its page, but never reaches the manager's feed
        refused = state(robot_url)
        deadline = time.monotonic() + 10
        while refused is None and time.monotonic() < deadline:
            time.sleep(0.5)
            refused = state(robot_url)
        assert refused is not None, (tmp_path / "dashboard-robot.log").read_text()
        time.sleep(6)  # several snapshot attempts and live periods
        refused = state(robot_url)
        assert refused is not None and refused.get("connected") is False, refused
        assert str(refused.get("error", "")).startswith(
            f"manager not reachable at {endpoint}"), refused
        assert not refused.get("robots"), refused
        assert state(alice_url) is not None
    finally:
        for process, log in started:
            stop(process, log)
        stop(manager, "serve.log")
    for _, log in started:
        assert "Traceback" not in (tmp_path / log).read_text(), log
