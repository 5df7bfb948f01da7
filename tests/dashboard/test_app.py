"""The dashboard's HTTP side on a fake manager: the page, the API's validation and answers,
who acts, and the refusals (bindings beyond loopback, unauthenticated requests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fleet.cli.main import app as cli
from fleet.comms import Bus, MemoryNetwork
from fleet.dashboard.access import Access, check_binding, name_of_cn, read_tokens
from fleet.dashboard.app import create_app
from fleet.dashboard.feed import Feed
from fleet.errors import SecurityError, UsageError
from tests.dashboard.fakes import ITF, FakeManager, anomaly, robot

TOKEN = "s3cret-token-of-ada-0123"


@pytest.fixture
def manager(network: MemoryNetwork) -> FakeManager:
    fake = FakeManager(network)
    fake.publish(robots=[robot("r1")], anomalies=[anomaly(7)])
    return fake


def client_for(network: MemoryNetwork, access: Access) -> TestClient:
    feed = Feed(lambda: Bus(network.transport()), ITF, where="tcp/127.0.0.1:7447")
    feed.step()
    return TestClient(create_app(feed, access))


@pytest.fixture
def client(network: MemoryNetwork, manager: FakeManager) -> TestClient:
    return client_for(network, Access(local_name="ada"))


def test_the_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<canvas id=\"map\"" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("dashboard.js", "map.js", "dashboard.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_state_and_sites(client: TestClient) -> None:
    state = client.get("/api/state").json()
    assert state["connected"] and set(state["robots"]) == {"r1"} and "7" in state["anomalies"]
    assert client.get("/api/sites").json()[0]["name"] == "mine"
    assert client.get("/api/whoami").json() == {"supervisor": "ada"}


def test_an_action_needs_a_note(client: TestClient, manager: FakeManager) -> None:
    for body in ({"note": ""}, {"note": "   "}, {}, {"note": 3}):
        answer = client.post("/api/anomalies/7/ack", json=body)
        assert (answer.status_code, answer.text) == (400, "a note is required")
    assert manager.actions == []


def test_an_unknown_anomaly_is_404_with_the_managers_reason(client: TestClient) -> None:
    answer = client.post("/api/anomalies/99/resolve", json={"note": "gone"})
    assert (answer.status_code, answer.text) == (404, "no anomaly 99")
    answer = client.post("/api/anomalies/abc/ack", json={"note": "x"})
    assert answer.status_code == 400 and "\n" not in answer.text
    assert client.post("/api/anomalies/7/delete", json={"note": "x"}).status_code == 404


def test_an_acknowledgement_is_recorded_as_the_supervisor(client: TestClient,
                                                          manager: FakeManager) -> None:
    answer = client.post("/api/anomalies/7/ack", json={"note": " checked the sensor "})
    assert answer.status_code == 200 and answer.json()["status"] == "acknowledged"
    assert manager.actions == [("ack", {"id": 7, "by": "ada", "note": "checked the sensor"})]


def test_trend_windows(client: TestClient) -> None:
    answer = client.get("/api/trend", params={"point": "P1", "sensor": "h2s",
                                              "window": "day"})
    assert answer.status_code == 200 and answer.json()["limits"] == {"max": 10}
    assert client.get("/api/trend", params={"point": "P1", "sensor": "h2s",
                                            "window": "year"}).status_code == 400
    assert client.get("/api/trend", params={"point": "", "sensor": "h2s"}).status_code == 400
    assert client.get("/api/trend", params={"point": "P9", "sensor": "h2s"}).text == "no point P9"


def test_a_manager_that_is_not_running_is_reported(network: MemoryNetwork) -> None:
    client = client_for(network, Access(local_name="ada"))
    state = client.get("/api/state").json()
    assert not state["connected"]
    assert state["error"].startswith("manager not reachable at tcp/127.0.0.1:7447")
    answer = client.post("/api/anomalies/7/ack", json={"note": "x"})
    assert answer.status_code == 503 and answer.text.startswith("manager not reachable")
    assert client.get("/api/sites").status_code == 503


def test_tokens_admit_supervisors_only(network: MemoryNetwork, manager: FakeManager) -> None:
    client = client_for(network, Access(tokens={TOKEN: "grace"}))
    assert client.get("/api/state").status_code == 403
    assert client.get("/static/dashboard.js").status_code == 403
    assert client.post("/api/anomalies/7/ack", json={"note": "x"},
                       headers={"authorization": "Bearer wrong-token-xxxxxxxx"}
                       ).text == "unknown token"
    answer = client.post("/api/anomalies/7/ack", json={"note": "seen"},
                         headers={"authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and manager.actions[-1][1]["by"] == "grace"
    # a browser presents its token once and then carries it in a cookie
    login = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303 and "httponly" in login.headers["set-cookie"].lower()
    assert client.get("/api/whoami").json() == {"supervisor": "grace"}
    # an API address never takes a token (it would end up in logs and histories)
    client.cookies.clear()
    assert client.get(f"/api/state?token={TOKEN}").status_code == 403


def test_certificate_names() -> None:
    access = Access(client_certs=True)
    assert access.supervisor(cert_cn="supervisor/ada/g2", token=None) == "ada"
    assert access.supervisor(cert_cn="robot/acme/r1/g1", token=None) is None
    assert "robot's certificate" in access.refusal(cert_cn="robot/acme/r1/g1", token=None)
    assert access.supervisor(cert_cn="fleet-manager", token=None) is None
    assert name_of_cn("supervisor/x/y/g1") is None


def test_bindings_beyond_loopback_need_tls_and_authentication() -> None:
    check_binding("127.0.0.1", tls=False, access=Access())
    check_binding("::1", tls=False, access=Access())
    check_binding("localhost", tls=False, access=Access())
    with pytest.raises(UsageError, match="only over TLS"):
        check_binding("0.0.0.0", tls=False, access=Access(tokens={TOKEN: "a"}))
    with pytest.raises(UsageError, match="authenticated supervisors"):
        check_binding("10.1.2.3", tls=True, access=Access())
    check_binding("10.1.2.3", tls=True, access=Access(client_certs=True))


def test_the_cli_refuses_a_bare_public_binding_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["dashboard", "--http", "0.0.0.0:8080"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the dashboard serves 0.0.0.0")
    result = CliRunner().invoke(cli, ["dashboard", "--http", "nonsense"])
    assert result.exit_code == 2 and "HOST:PORT" in result.output
    for args, says in ((["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
                       (["--client-ca", "ca.pem"], "--client-ca needs TLS"),
                       (["--http", "127.0.0.1:0"], "port must be 1-65535")):
        result = CliRunner().invoke(cli, ["dashboard", *args])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and says in lines[0], result.output


def test_tokens_files(tmp_path: Path) -> None:
    good = tmp_path / "tokens"
    good.write_text(f"# supervisors\nada {TOKEN}\n\ngrace {TOKEN}x  # night shift\n")
    assert read_tokens(good) == {TOKEN: "ada", TOKEN + "x": "grace"}
    for text, reason in ((f"ada {TOKEN} extra", "NAME TOKEN"), ("ada short", "at least"),
                         (f"ad@ {TOKEN}", "supervisor name"), ("", "names no supervisor")):
        good.write_text(text)
        with pytest.raises(SecurityError, match=reason):
            read_tokens(good)


def test_an_address_in_use_is_one_line() -> None:
    from fleet.dashboard.server import bind

    taken = bind("127.0.0.1", 0)
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(UsageError, match=f"cannot serve the dashboard on 127.0.0.1:{port}"):
            bind("127.0.0.1", port)
    finally:
        taken.close()
