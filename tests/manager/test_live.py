"""The live feed of dashboards (fleet.manager.live): what changed, and only that, in each
message; the whole state on request; mission events; the site maps and a point's trend
(in-memory network, manual clock; the feed's thread is off and its ticks taken by hand)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fleet.manager import ManagerSettings
from fleet.manager.api import api_key
from fleet.protocol.inspection import Reading

from .harness import Site, open_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from open_site(tmp_path, ManagerSettings(plan_time_limit=0.5, live_interval=0))


def _robots(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["serial"]: r for r in message["robots"]}


def test_each_message_carries_what_changed_and_a_full_one_everything(site: Site) -> None:
    feed = site.manager.live
    r1 = site.robot("r1")
    first = feed.tick(full=True)
    assert first["v"] == 1 and first["full"] and first["seq"] == 1
    robot = _robots(first)["r1"]
    assert (robot["status"], robot["activity"], robot["node"]) == ("online", "idle", "dock")
    assert robot["x"] is not None and robot["level"] is not None
    assert robot["site"] is None  # no mission yet: the manager knows no site
    assert {"lockouts", "closures", "blocks", "schedules"} <= set(first)
    quiet = feed.tick()
    assert quiet["seq"] == 2 and not quiet["full"]
    assert quiet["robots"] == [] and quiet["missions"] == [] and quiet["gone"] == []
    assert not {"lockouts", "closures", "blocks", "schedules"} & set(quiet)

    run = site.launch()
    site.dispatched(r1, run)
    r1.report(2)
    site.net.drain()
    site.wait_until(lambda: run.assignments["r1"].reached == 2)
    moved = feed.tick()
    assert list(_robots(moved)) == ["r1"]
    assert _robots(moved)["r1"]["activity"] == "working"
    assert _robots(moved)["r1"]["mission_id"] == run.id
    assert _robots(moved)["r1"]["site"] == site.facility.name
    [mission] = moved["missions"]
    assert (mission["mission_id"], mission["total"], mission["robots"]) == (run.id, 2, ["r1"])
    # the block r1 holds on its way is listed, with its holder
    assert all(b["holder"] == "r1" for b in moved.get("blocks", []))
    # the whole state, asked for: seq not advanced, everything listed
    snapshot = site.bus.request(api_key("uagv", "live/snapshot"))
    assert snapshot["full"] and snapshot["seq"] == moved["seq"]
    assert [r["serial"] for r in snapshot["robots"]] == ["r1"]


def test_a_lost_robot_changes_colour_and_events_are_published(site: Site) -> None:
    feed = site.manager.live
    heard: list[dict[str, Any]] = []
    site.bus.subscribe_raw("uagv/manager/live/events",
                           lambda _key, payload: heard.append(json.loads(payload)))
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    feed.tick(full=True)
    r1.drop_token()
    site.at(site.manager.settings.robot_timeout + 1.0)
    site.check()
    lost = _robots(feed.tick())["r1"]
    assert (lost["status"], lost["activity"]) == ("connection_broken", "lost")
    feed.run_once()
    site.net.drain()
    kinds = [e["kind"] for e in heard]
    assert "dispatched" in kinds and "robot_lost" in kinds
    assert all(e["mission_id"] == run.id for e in heard)


def test_anomalies_come_and_go_by_id(site: Site) -> None:
    feed = site.manager.live
    feed.tick(full=True)
    store = site.store
    anomalies = site.manager.anomalies
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(2)
    r1.send(replace(r1.result("p1"), readings=(Reading("o2", 17.0, "%vol"),)))
    site.net.drain()
    site.wait_until(lambda: bool(store.anomalies()))
    [row] = store.anomalies()
    raised = feed.tick()
    assert [a["id"] for a in raised["anomalies"]] == [row.id]
    assert raised["anomalies_closed"] == []
    anomalies.resolve(row.id, by="alice", note="ventilated")
    closed = feed.tick()
    assert closed["anomalies"] == [] and closed["anomalies_closed"] == [row.id]


def test_the_site_maps_and_a_trend_with_its_limits(site: Site) -> None:
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    [fac] = site.bus.request(api_key("uagv", "sites"))
    assert fac["name"] == site.facility.name
    assert {n["id"] for n in fac["nodes"]} == set(site.facility.nodes)
    assert len(fac["edges"]) == len(site.facility.edges)
    r1.report(2)
    r1.send(r1.result("p1"))
    site.net.drain()
    site.wait_until(lambda: "p1" in run.done)
    since = (site.clock.now() - timedelta(hours=8)).isoformat()
    trend = site.bus.request(api_key("uagv", "trend"),
                             {"point": "p1", "sensor": "ch4", "since": since})
    assert [v for _, v in trend["readings"]] == [0.1]
    assert trend["unit"] == "%vol" and trend["limits"]["alarm"] > trend["limits"]["warning"]
    with pytest.raises(Exception, match="a trend needs a point and a sensor"):
        site.bus.request(api_key("uagv", "trend"), {"point": "p1", "since": since})


def test_a_leader_among_standbys_is_named_in_every_message(site: Site) -> None:
    feed = site.manager.live
    assert "manager" not in feed.tick() and "manager" not in feed.snapshot()  # alone
    feed.leader = {"name": "mgr-b", "epoch": 7}
    assert feed.tick()["manager"] == {"name": "mgr-b", "epoch": 7}
    assert feed.tick(full=True)["manager"] == feed.snapshot()["manager"] == feed.leader
