"""``fleet status``, ``fleet sites`` and the leader line of ``fleet robots`` on what
manager processes answer (``{interface}/manager/members``), served by a real Zenoh router
on loopback: one process per site here, answering as a leader, a standby or a single
manager would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.cli.remote import leader_line
from fleet.comms import Bus, client_config, free_port, router_config, tcp_endpoint
from fleet.manager.leadership import members_key, single


def _member(name: str, role: str, interface: str = "site-a/uagv", **extra: Any) -> dict[str, Any]:
    lease = {"site": interface, "holder": "mgr-a", "epoch": 4, "info": {}, "live": True,
             "expires_in_s": 2.4, "renewed_ago_s": 0.6}
    return {"name": name, "interface": interface, "role": role,
            "epoch": 4 if role == "leader" else None, "since": "2026-12-07T10:00:00+00:00",
            "takeovers": 1, "robots_heard": 12, "database": "reachable", "lease": lease,
            "host": "h", "pid": 1, **extra}


@pytest.fixture
def router() -> Iterator[tuple[str, Bus]]:
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    with Bus.open(router_config([endpoint])) as bus:
        yield endpoint, bus


def _run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result


def test_status_shows_the_leader_first_then_standbys_and_the_lease(
        router: tuple[str, Bus]) -> None:
    endpoint, bus = router
    itf = "site-a/uagv"
    bus.serve(members_key(itf), lambda _r: _member("mgr-b", "standby"))
    other = Bus.open(client_config([endpoint]))  # another manager process, another session
    other.serve(members_key(itf), lambda _r: _member("mgr-a", "leader"))
    result = _run("--site", "site-a", "status", "--connect", endpoint)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split()[:3] == ["mgr-a", "leader", "4"]
    assert lines[2].split()[:2] == ["mgr-b", "standby"]
    assert "lease of site-a/uagv: held by mgr-a (epoch 4), renewed 0.6 s ago, runs out " \
           "in 2.4 s" in result.stdout
    assert leader_line(endpoint, itf, None) == "led by mgr-a (epoch 4); standing by: mgr-b"
    as_json = json.loads(_run("status", "--connect", endpoint, "--interface", itf,
                              "--json").stdout)
    assert [m["name"] for m in as_json] == ["mgr-a", "mgr-b"]
    other.close()


def test_sites_lists_every_site_through_one_router(router: tuple[str, Bus]) -> None:
    endpoint, bus = router
    bus.serve(members_key("site-a/uagv"), lambda _r: _member("mgr-a", "leader"))
    bus.serve(members_key("site-b/uagv"), lambda _r: _member("mgr-c", "standby", "site-b/uagv"))
    single(bus, "uagv", "lone", {"host": "h", "pid": 2})
    rows = json.loads(_run("sites", "--connect", endpoint, "--json").stdout)
    assert rows == [
        {"site": "site-a/uagv", "leader": "mgr-a", "epoch": 4, "standbys": []},
        {"site": "site-b/uagv", "leader": None, "epoch": None, "standbys": ["mgr-c"]},
        {"site": "uagv", "leader": "lone", "epoch": None, "standbys": []}]
    assert "(none)" in _run("sites", "--connect", endpoint).stdout
    # a single manager (SQLite): no leader line in `fleet robots`, and status says so
    assert leader_line(endpoint, "uagv", None) is None
    assert "one manager (SQLite site: no standby)" in _run(
        "status", "--connect", endpoint).stdout


def test_nobody_answering_is_one_line_and_exit_2(router: tuple[str, Bus]) -> None:
    endpoint, _bus = router
    result = _run("status", "--connect", endpoint, "--interface", "site-z/uagv")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: no manager of interface site-z/uagv answered; "
                                     "is `fleet serve` running?")
    bad = _run("--site", "a*", "status")
    assert bad.exit_code == 2 and "--site" in bad.output
