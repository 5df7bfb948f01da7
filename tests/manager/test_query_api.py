"""The query facade of a running manager, and the API that serves it on the bus
(in-memory network, manual clock)."""

from __future__ import annotations

import pytest

from fleet.comms import Bus
from fleet.errors import FleetError
from fleet.manager.api import api_key
from fleet.protocol.keys import Topic

from .harness import INTERFACE, TINY_MISSION, Site


def test_robots_show_their_dock_once_a_site_is_known(site: Site) -> None:
    site.robot("r1")
    site.robot("r2", node="a")
    queries = site.manager.queries
    # no mission yet: no site to tell a dock from a drift
    assert [(r["serial"], r["dock"]) for r in queries.robots()] == [("r1", None), ("r2", None)]
    run = site.launch()
    site.dispatched(site.robots[0], run)
    shown = {r["serial"]: r for r in queries.robots()}
    assert (shown["r1"]["dock"], shown["r2"]["dock"]) == ("dock", None)
    assert shown["r1"]["mission_id"] == run.id and shown["r1"]["status"] == "online"
    assert shown["r1"]["sensors"] == ["ch4", "co", "h2s", "o2", "temperature"]
    assert shown["r1"]["last_rejected"] is None and shown["r1"]["refused"] == 0
    assert queries.robot("acme", "r2")["last_node"] == "a"
    with pytest.raises(FleetError, match="no robot acme/r9"):
        queries.robot("acme", "r9")


def test_robots_show_the_last_refusal(site: Site) -> None:
    r1 = site.robot("r1")
    r1.send_raw(Topic.FACTSHEET, b'{"not": "a factsheet"}')
    site.at(5.0)
    r1.send_raw(Topic.STATE, b"not json")
    site.net.drain()
    shown = site.manager.queries.robot("acme", "r1")
    assert shown["refused"] == 2
    assert shown["last_rejected"]["topic"] == "state"
    assert shown["last_rejected"]["at"] == "2025-01-01T00:00:05.000Z"
    assert "\n" not in shown["last_rejected"]["reason"]


def test_missions_lists_live_missions_and_finished_ones_from_the_store(site: Site) -> None:
    old = site.store.add_mission("Old patrol", TINY_MISSION.read_text(), status="completed",
                                 mission_id="f" * 32)
    site.robot("r1")
    run = site.launch()
    site.dispatched(site.robots[0], run)
    listed = {m["mission_id"]: m for m in site.manager.queries.missions()}
    assert listed[run.id] == {"mission_id": run.id, "name": "Tiny patrol",
                              "status": "dispatched",
                              "inspections": {"done": 0, "total": 2, "failed": 0,
                                              "dropped": 0, "blocked": 0, "waiting": 0}}
    assert listed[old.id] == {"mission_id": old.id, "name": "Old patrol",
                              "status": "completed", "inspections": None}


def test_a_mission_is_found_by_a_unique_prefix(site: Site) -> None:
    site.store.add_mission("Old patrol", TINY_MISSION.read_text(), status="aborted",
                           mission_id="f" * 32)
    site.robot("r1")
    run = site.launch()
    queries = site.manager.queries
    status = queries.mission(run.id[:4])
    assert status["mission_id"] == run.id and status["inspections"]["total"] == 2
    with pytest.raises(FleetError, match="no mission"):
        queries.mission(run.id[:3])  # too short to be taken for a prefix
    with pytest.raises(FleetError, match="no mission"):
        queries.mission("0123456789")
    stored = queries.mission("f" * 32)  # not live: from the store
    assert (stored["status"], stored["inspections"], stored["robots"]) == ("aborted", None, [])


def test_the_api_serves_the_queries_on_the_bus(site: Site) -> None:
    site.robot("r1")
    run = site.launch()
    site.dispatched(site.robots[0], run)
    with Bus(site.net.transport()) as cli:
        [robot] = cli.request(api_key(INTERFACE, "robots"))
        assert (robot["serial"], robot["dock"]) == ("r1", "dock")
        status = cli.request(api_key(INTERFACE, "mission/status"),
                             {"mission_id": run.id[:8]})
        assert status == site.manager.queries.mission(run.id)
        with pytest.raises(FleetError, match="no mission"):
            cli.request(api_key(INTERFACE, "mission/status"), {"mission_id": "nope"})
