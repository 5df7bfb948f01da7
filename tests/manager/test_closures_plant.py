"""Gas closures on a chemical plant (docs/gas-safety.md): flammable gas at the second alarm
(50 % LEL, GB/T 50493-2019) makes the area round the reading unfit for zone-2-only (Gc)
equipment: the closure is an ATEX zone 1 of the planning site, so Gc robots are kept out
while Ga and Gb ones may still go in (on a mine the same closure is Ma-only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from fleet import samples
from fleet.facility import formats
from fleet.facility.model import Facility, ZoneKind
from fleet.facility.protection import Epl
from fleet.interlock import PLANT_LEVELS, Crossing, crosses
from fleet.manager.closures import Closures, _closure_zones
from fleet.planning.robots import load_fleet
from fleet.store import ClosureRow


@pytest.fixture(scope="module")
def plant() -> Facility:
    return formats.load(samples.path("chemical-plant"))


def closure_at(fac: Facility, node: str) -> ClosureRow:
    nodes, area = Closures._area(fac, node)
    return ClosureRow(id=1, site=fac.name, node_id=node, nodes=nodes, area=area,
                      source="sensor GD-7", sensor="lel", value=52.0, unit="%LEL",
                      restore=PLANT_LEVELS.restore, opened_at=datetime.now(UTC))


@pytest.mark.parametrize(("value", "crossing"), [
    (52.0, Crossing.POWER_OFF), (50.0, Crossing.POWER_OFF), (30.0, Crossing.ALARM),
    (24.9, Crossing.RESTORE)])
def test_the_plant_levels_are_the_second_alarm_and_below_the_first(
        value: float, crossing: Crossing) -> None:
    assert crosses(PLANT_LEVELS, value, "%LEL") is crossing


def test_a_plant_closure_is_a_zone_1_that_keeps_gc_robots_out(plant: Facility) -> None:
    point = "fw-pump"  # outside the plant's own zones: a Gc robot may go there
    row = closure_at(plant, point)
    zones = list(_closure_zones(plant, row))
    assert zones and all(z.kind is ZoneKind.GAS_HAZARD and z.atex_zone == 1 for z in zones)
    assert all(z.gas == "lel" for z in zones)
    site = replace(plant, zones=(*plant.zones, *zones))
    fleet = load_fleet(samples.path("chemical-plant-fleet"))
    by_rating = {Epl(next(iter(c.ratings)).value): c for c in fleet.classes.values()}
    gc, gb, ga = by_rating[Epl.GC], by_rating[Epl.GB], by_rating[Epl.GA]
    inside = [str(n) for n in row.nodes or ()]
    assert point in inside and plant.node_allowed(point, gc.access)
    for n in inside:
        assert not site.node_allowed(n, gc.access), f"Gc robot allowed at {n}"
        assert site.node_allowed(n, gb.access) and site.node_allowed(n, ga.access)
