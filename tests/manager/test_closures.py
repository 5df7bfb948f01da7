"""Gas closures in a running manager (docs/gas-safety.md, "Gas closures"): a power-off
reading closes the area round it to unrated robots, a reading below restore or a
supervisor reopens it, and closures survive a restart (in-memory network, manual clock,
a real SQLite file)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fleet.errors import FleetError
from fleet.manager.closures import closure_reason
from fleet.manager.missions import MissionRun
from fleet.protocol.inspection import Reading

from .harness import ScriptedRobot, Site, open_site


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
        with pytest.raises(FleetError, match="no open closure C-99"):
            site.manager.reopen_closure(99, by="ann", note="x")
        site.manager.reopen_closure(closure.id, by="ann", note="ventilated, 0.3 % measured")
        assert site.manager.closures.open() == []
        [row] = site.store.closures()
        assert (row.reopened_by, row.note) == ("ann", "ventilated, 0.3 % measured")
    finally:
        again.close()
