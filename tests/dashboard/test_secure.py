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
