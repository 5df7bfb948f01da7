"""Gas closures in a running manager (docs/gas-safety.md, "Gas closures"): a power-off
reading closes the area round it to unrated robots and raises an alarm, a reading below
restore or a supervisor reopens it (the alarm resolved), the API lists and reopens them,
and closures survive a restart (in-memory network, manual clock, a real SQLite file)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from fleet.anomaly.record import MissionRecord
from fleet.anomaly.rules import CLOSURE
from fleet.comms import Bus
from fleet.errors import FleetError
from fleet.manager.api import api_key
from fleet.manager.closures import closure_json, closure_reason
from fleet.manager.missions import MissionRun
from fleet.protocol.inspection import Reading
from fleet.store import AnomalyRow

from .harness import INTERFACE, ScriptedRobot, Site, open_site


def gas_at_p1(site: Site, ch4: float = 1.62) -> tuple[ScriptedRobot, MissionRun]:
    """r1 inspected p1 (tiny map: inside ATEX zone face-gas) and read ``ch4`` %vol."""
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(2)
    result = r1.result("p1")
    r1.send(replace(result, readings=(Reading("ch4", ch4, "%vol"),
                                      Reading("o2", 20.9, "%vol"))))
    site.wait_until(lambda: "p1" in run.done)
    return r1, run


def test_a_power_off_reading_closes_its_zone_to_unrated_robots(site: Site) -> None:
    _, run = gas_at_p1(site)
    [closure] = site.manager.closures.open()
    assert (closure.node_id, closure.area, closure.nodes) == ("p1", "zone face-gas", ["p1"])
    assert closure.source == "robot acme/r1" and closure.value == pytest.approx(1.62)
    assert closure_reason(closure) == f"closed: ch4 1.62 %vol at p1 (closure C-{closure.id})"
    fac = run.spec.facility
    planning = site.manager.obstacles.site(fac)
    cls = site.entry().robot_class()
    assert cls is not None and not cls.access.stays_energised
    assert fac.node_allowed("p1", cls.access) and not planning.node_allowed("p1", cls.access)
    assert not planning.traversable(fac.edge_between("a", "p1"), cls.access)
    # r1 was to drive back through p1: its order is replaced by a way that keeps out
    site.wait_until(lambda: bool(site.events(run, "rerouted")))
    [rerouted] = site.events(run, "rerouted")
    assert rerouted["reason"] == closure_reason(closure)
    assert "p1" not in rerouted["route"][3:], "it does not come back through the closure"


def test_a_reading_below_restore_inside_reopens_it(site: Site) -> None:
    r1, _ = gas_at_p1(site)
    [closure] = site.manager.closures.open()
    later = r1.result("p1")  # ch4 0.1 %vol, below the restore level 1.0
    site.manager.closures.observe("p1", "robot acme/r2", "ch4", 0.1, "%vol",
                                  site.manager.anomalies.limits_for(None).interlock("p1", "ch4"))
    assert later.readings[0].value == 0.1
    assert site.manager.closures.open() == []
    [row] = site.store.closures()
    assert row.id == closure.id and row.reopened_at is not None
    assert row.reopened_by == "robot acme/r2 read ch4 0.1 %vol"


def test_a_supervisor_reopens_it_and_it_survives_a_restart(tmp_path: Path) -> None:
    sites = open_site(tmp_path)
    site = next(sites)
    gas_at_p1(site)
    sites.close()
    again = open_site(tmp_path)
    site = next(again)
    try:
        [closure] = site.manager.closures.open()
        assert closure.id is not None
        with pytest.raises(FleetError, match="no closure C-99"):
            site.manager.reopen_closure(99, by="ann", note="x")
        site.manager.reopen_closure(closure.id, by="ann", note="ventilated, 0.3 % measured")
        assert site.manager.closures.open() == []
        [row] = site.store.closures()
        assert (row.reopened_by, row.note) == ("ann", "ventilated, 0.3 % measured")
        # the alarm raised before the restart is resolved after it
        assert _alarm(site, closure.id).resolved_by == "ann"
    finally:
        again.close()


def _alarm(site: Site, closure_id: int | None) -> AnomalyRow:
    [anomaly] = [a for a in site.store.anomalies() if a.rule == CLOSURE]
    assert anomaly.sensor == f"closure:{closure_id}"
    return anomaly


def test_a_closure_raises_an_alarm_naming_site_area_node_sensor_and_reading(
        site: Site) -> None:
    _, run = gas_at_p1(site)
    [closure] = site.manager.closures.open()
    anomaly = _alarm(site, closure.id)
    assert (anomaly.severity, anomaly.status, anomaly.inspection_point_id) == (
        "alarm", "open", "p1")
    assert anomaly.mission_id == run.id and (anomaly.x, anomaly.y, anomaly.level) == (
        40.0, 0.0, "L1")
    assert anomaly.peak == pytest.approx(1.62) and anomaly.threshold == pytest.approx(1.5)
    text = anomaly.detail["description"]
    for part in (site.facility.name, "zone face-gas", "at p1", "ch4 1.62 %vol", "robot acme/r1",
                 f"C-{closure.id}"):
        assert part in text, (part, text)


def _by_reading(site: Site, closure_id: int) -> None:
    site.manager.closures.observe("p1", "robot acme/r2", "ch4", 0.1, "%vol",
                                  site.manager.anomalies.limits_for(None).interlock("p1", "ch4"))


def _by_supervisor(site: Site, closure_id: int) -> None:
    site.manager.reopen_closure(closure_id, by="ann", note="ventilated, 0.3 % measured")


@pytest.mark.parametrize(("reopen", "by", "note"), [
    (_by_reading, "robot acme/r2 read ch4 0.1 %vol", "below the restore level"),
    (_by_supervisor, "ann", "ventilated, 0.3 % measured"),
], ids=["reading", "supervisor"])
def test_reopening_resolves_the_alarm_with_who_and_why(
        site: Site, reopen: Callable[[Site, int], None], by: str, note: str) -> None:
    gas_at_p1(site)
    [closure] = site.manager.closures.open()
    assert closure.id is not None
    reopen(site, closure.id)
    anomaly = _alarm(site, closure.id)
    assert (anomaly.status, anomaly.resolved_by) == ("resolved", by)
    assert anomaly.resolve_note == f"closure C-{closure.id} reopened: {note}"
    # the robot's own ch4 anomaly at p1 is another matter: left as it was
    [ch4] = [a for a in site.store.anomalies() if a.sensor == "ch4"]
    assert ch4.status == "open"


# ------------------------------------------------------------------ the API on the bus
def test_the_api_lists_and_reopens_closures(site: Site) -> None:
    gas_at_p1(site)
    [closure] = site.manager.closures.open()
    with Bus(site.net.transport()) as cli:
        [listed] = cli.request(api_key(INTERFACE, "closures/list"))
        assert listed == closure_json(closure)
        assert (listed["id"], listed["site"], listed["node"], listed["nodes"], listed["area"],
                listed["sensor"], listed["unit"], listed["restore"], listed["open"]) == (
            closure.id, site.facility.name, "p1", ["p1"], "zone face-gas", "ch4", "%vol",
            1.0, True)
        assert listed["opened_at"].endswith("Z") and listed["reopened_at"] is None
        done = cli.request(api_key(INTERFACE, "closures/reopen"),
                           {"id": f"C-{closure.id}", "by": "ann", "note": "ventilated"})
        assert (done["open"], done["reopened_by"], done["note"]) == (False, "ann",
                                                                     "ventilated")
        assert cli.request(api_key(INTERFACE, "closures/list")) == []
        [history] = cli.request(api_key(INTERFACE, "closures/list"), {"all": True})
        assert history == done
    assert site.manager.closures.open() == []


@pytest.mark.parametrize(("body", "error"), [
    ({"id": 99, "by": "ann", "note": "x"}, "no closure C-99 (`fleet closures list`"),
    ({"id": "C-1", "by": "ann", "note": "x"}, "closure C-1 was reopened already, at "),
    ({"id": "first", "by": "ann", "note": "x"}, "a closure id is a number like 3 or C-3"),
    ({"id": 1, "by": "ann"}, "reopen needs a note saying why the area is safe again"),
    ({"id": 1, "by": "ann", "note": "  "}, "reopen needs a note"),
    ({"id": 1, "note": "x"}, "reopen needs who you are (by)"),
    ("C-1", "the request needs a JSON object body"),
])
def test_a_bad_reopen_is_one_line(site: Site, body: object, error: str) -> None:
    gas_at_p1(site)
    [closure] = site.manager.closures.open()
    assert closure.id == 1
    if "reopened already" in error:
        site.manager.reopen_closure(1, by="bob", note="first")
    with Bus(site.net.transport()) as cli, pytest.raises(FleetError) as caught:
        cli.request(api_key(INTERFACE, "closures/reopen"), body)
    assert error in str(caught.value) and "\n" not in str(caught.value)
    if "reopened already" in error:
        assert str(caught.value).endswith(" UTC by bob")


def test_the_mission_report_lists_the_closure_until_and_after_it_reopens(site: Site) -> None:
    _, run = gas_at_p1(site)
    [closure] = site.manager.closures.open()
    [opened] = site.events(run, "closure_opened")
    assert (opened["closure"], opened["area"], opened["reading"]) == (
        closure.id, "zone face-gas", "ch4 1.62 %vol")
    [listed] = site.manager.queries.report(run.id).closures
    assert (listed.id, listed.node_id, listed.nodes, listed.open) == (closure.id, "p1",
                                                                     ("p1",), True)
    assert closure.id is not None
    site.manager.reopen_closure(closure.id, by="ann", note="ventilated")
    assert site.events(run, "closure_reopened")[0]["by"] == "ann"
    record = site.manager.queries.report(run.id)
    [listed] = record.closures
    assert (listed.open, listed.reopened_by, listed.note) == (False, "ann", "ventilated")
    assert MissionRecord.from_json(record.to_json()) == record
