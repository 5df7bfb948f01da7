"""Robot ratings against the site's explosion group: one-line problems for a fleet that
does not fit the site, planner reasons, and a property: no plan (and no route) sends a
robot where its ratings forbid, on group I and group II sites (docs/gas-safety.md)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.errors import MissionError
from fleet.facility.document import facility_from_document
from fleet.facility.model import Access, Facility
from fleet.facility.protection import Epl, rating_problem
from fleet.facility.routing import shortest_route
from fleet.planning.plan import DropReason
from fleet.planning.planner import plan_mission
from fleet.planning.robots import Fleet, fleet_from_document, rating_problems

from .factories import fleet, mission, robot_class, task

ROOT = Path(__file__).resolve().parents[2]
MA, MB, GA, GB, GC = Epl.MA, Epl.MB, Epl.GA, Epl.GB, Epl.GC
LIMIT = 0.3


def line_site(kind: str | None, *zones: dict[str, Any]) -> Facility:
    """Dock D, waypoint W, point P at x = 0, 50, 100; P inside every zone given."""
    return facility_from_document({
        "site": {"name": "line", **({"kind": kind} if kind else {})},
        "nodes": [{"id": "D", "x": 0, "y": 0, "kind": "dock"}, {"id": "W", "x": 50, "y": 0},
                  {"id": "P", "x": 100, "y": 0, "kind": "inspection"}],
        "edges": [{"from": "D", "to": "W"}, {"from": "W", "to": "P"}],
        "zones": [{"polygon": [[90, -10], [110, -10], [110, 10], [90, 10]], **z}
                  for z in zones],
    })


ATEX1 = {"id": "z1", "kind": "gas_hazard", "atex_zone": 1}
SEALS = {"id": "seals", "kind": "ma_only", "reason": "goaf-edge"}


# ------------------------------------------- a fleet that does not fit the site, one row each
# (site kind, zones, class ratings) -> words of the one-line problem (None: no problem)
FITS: list[tuple[str, str | None, tuple[dict[str, Any], ...], set[Epl], tuple[str, ...] | None]] = [
    ("Gc robot in a coal mine", "coal-mine", (), {GC},
     ("robot class c is rated Gc: a coal mine (group I) needs Ma or Mb", "IEC 60079-0")),
    ("Ga robot in a coal mine", "coal-mine", (SEALS,), {GA}, ("rated Ga", "group I")),
    ("unrated robot in a coal mine", "coal-mine", (), set(), ("robot class c is unrated",)),
    ("Gb robot in a gassy tunnel", "tunnel", (), {GB}, None),  # no firedamp declared: II
    ("Mb-only robot on a plant with zones", "chemical-plant", (ATEX1,), {MB},
     ("robot class c is rated Mb only", "zones 0/1/2 of a chemical plant (group II)",
      "Ga, Gb or Gc", "IEC 60079-14", "epl: none")),
    ("Ma-only robot on a plant with zones", "chemical-plant", (ATEX1,), {MA},
     ("rated Ma only",)),
    ("Ma and Mb on a plant with zones", "chemical-plant", (ATEX1,), {MA, MB},
     ("rated Ma and Mb only",)),
    ("Mb robot on a plant without zones", "chemical-plant", (), {MB}, None),
    ("Mb and Gb robot on a plant", "chemical-plant", (ATEX1,), {MB, GB}, None),
    ("unrated robot on a plant", "chemical-plant", (ATEX1,), set(), None),
    ("Mb robot in a coal mine", "coal-mine", (SEALS,), {MB}, None),
    ("Mb and Gb robot in a coal mine", "coal-mine", (SEALS,), {MB, GB}, None),
    ("Ma robot in a coal mine", "coal-mine", (SEALS,), {MA}, None),
    ("any robot on a site of no kind", None, (ATEX1,), {MB}, None),
]


@pytest.mark.parametrize(("case", "kind", "zones", "ratings", "words"), FITS,
                         ids=[f[0] for f in FITS])
def test_a_fleet_that_does_not_fit_the_site_is_one_line_per_class(
        case: str, kind: str | None, zones: tuple[dict[str, Any], ...], ratings: set[Epl],
        words: tuple[str, ...] | None) -> None:
    site = line_site(kind, *zones)
    robots = fleet(("r1", robot_class("c", epl=list(ratings)), "D"),
                   ("r2", robot_class("c", epl=list(ratings)), "D"))
    problems = rating_problems(robots, site)
    if words is None:
        assert problems == []
        return
    (problem,) = problems  # one per class, not per robot
    assert "\n" not in str(problem)
    for w in words:
        assert w in problem.reason, (case, w, problem.reason)
    with pytest.raises(MissionError) as info:
        plan_mission(mission(site, task("P")), robots, time_limit=LIMIT)
    assert [p.reason for p in info.value.problems] == [problem.reason]


def test_fleet_files_take_one_rating_or_a_list() -> None:
    doc = {"classes": [
        {"name": name, "speed": 1, "battery_wh": 100, "wh_per_metre": 0.1,
         "wh_per_second": 0.01, "charge_w": 100, "epl": epl}
        for name, epl in (("one", "Mb"), ("two", ["Mb", "Gb"]), ("old", "gc"),
                          ("none", "none"), ("absent", None))],
        "robots": [{"manufacturer": "m", "serial": "s", "class": "one", "dock": "D"}]}
    classes = fleet_from_document(doc).classes
    assert {n: c.ratings for n, c in classes.items()} == {
        "one": {MB}, "two": {MB, GB}, "old": {GC}, "none": set(), "absent": set()}
    assert not classes["one"].stays_energised


@pytest.mark.parametrize("epl", ["Gx", ["Mb", "zone1"], 7])
def test_an_unknown_rating_in_a_fleet_file_is_one_line(epl: object) -> None:
    doc = {"classes": [{"name": "c", "speed": 1, "battery_wh": 100, "wh_per_metre": 0.1,
                        "wh_per_second": 0.01, "charge_w": 100, "epl": epl}],
           "robots": [{"manufacturer": "m", "serial": "s", "class": "c", "dock": "D"}]}
    with pytest.raises(MissionError) as info:
        fleet_from_document(doc, file="f.yaml")
    (problem,) = info.value.problems
    assert problem.element == "class c" and "unknown protection level" in problem.reason


def test_cli_checks_a_fleet_file_against_the_maps(tmp_path: Path) -> None:
    bad = tmp_path / "fleet.yaml"
    bad.write_text((ROOT / "missions" / "coal_mine_fleet.yaml").read_text()
                   .replace("epl: Ma", "epl: Gb").replace("    epl: Mb\n", "    epl: Gc\n", 1),
                   encoding="utf-8")
    mine, plant = ROOT / "maps" / "coal_mine.yaml", ROOT / "maps" / "chemical_plant.yaml"
    ok = CliRunner().invoke(app, ["map", "validate", str(mine), "--fleet",
                                  str(ROOT / "missions" / "coal_mine_fleet.yaml")])
    assert ok.exit_code == 0, ok.output
    result = CliRunner().invoke(app, ["map", "validate", str(mine), str(plant),
                                      "--fleet", str(bad)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: {bad}: robot class ex-crawler is rated Gc: a coal mine (group I) needs Ma "
        "or Mb on every robot underground (IEC 60079-0)",
        f"error: {bad}: robot class is-crawler is rated Gb: a coal mine (group I) needs Ma "
        "or Mb on every robot underground (IEC 60079-0)",
        f"error: {bad}: robot class rail-inspector is rated Mb only: a group I rating does "
        "not admit it to the zones 0/1/2 of a chemical plant (group II), which need Ga, Gb "
        "or Gc (IEC 60079-14); add a G rating (epl: [Mb, Gb]) or give epl: none if it "
        "keeps out of the zones",
    ]


# ------------------------------------------------------------------------ planner reasons
def test_only_the_ma_robot_serves_an_ma_only_point() -> None:
    site = line_site("coal-mine", SEALS)
    m = mission(site, task("P"), task("W"))
    plan = plan_mission(m, fleet(("mb", robot_class("mb", epl=MB), "D"),
                                 ("ma", robot_class("ma", epl=MA, speed=0.2), "D")),
                        time_limit=LIMIT)
    assert "P" in plan.robot("ma").inspections
    plan = plan_mission(m, fleet(("mb", robot_class("mb", epl=[MB, GB]), "D")),
                        time_limit=LIMIT)
    (dropped,) = plan.unassigned
    assert (dropped.point, dropped.reason) == ("P", DropReason.PROTECTION)
    assert dropped.detail == "zone seals is Ma-only: needs Ma"


def test_the_ma_robot_without_the_sensor_is_named_in_the_reason() -> None:
    site = line_site("coal-mine", SEALS)
    plan = plan_mission(
        mission(site, task("P", sensors=["h2s"])),
        fleet(("mb", robot_class("mb", epl=MB, sensors=["h2s"]), "D"),
              ("ma", robot_class("ma", epl=MA, sensors=["ch4"]), "D")), time_limit=LIMIT)
    (dropped,) = plan.unassigned
    assert dropped.detail == "zone seals is Ma-only: needs Ma, and no such robot carries h2s"


# ------------------------------------------------------------------------------ property
# The oracle: the rules as the standards state them, written out here again so that the
# planner's own (fleet.facility.protection) are checked rather than repeated.
ZONE_RATINGS = {0: {GA}, 1: {GA, GB}, 2: {GA, GB, GC}}  # IEC 60079-14


def oracle_may(ratings: frozenset[Epl], group_one: bool, zones: list[dict[str, Any]]) -> bool:
    if group_one and not ratings & {MA, MB}:  # IEC 60079-0: group I needs Ma or Mb
        return False
    for z in zones:
        if z["kind"] == "ma_only" and MA not in ratings:
            return False
        if z["kind"] == "gas_hazard" and not ratings & ZONE_RATINGS[z["atex_zone"]]:
            return False
    return True


SPACING = 10.0


@st.composite
def rated_sites(draw: st.DrawFn) -> tuple[dict[str, Any], list[frozenset[Epl]]]:
    """A small grid mine or plant: a dock in a corner, a few inspection points, rectangles
    of Ma-only areas (group I) or ATEX zones 0/1/2 (group II) that never hold the dock,
    and one to three robot classes with any ratings."""
    group_one = draw(st.booleans())
    w, h = draw(st.integers(3, 5)), draw(st.integers(2, 4))
    ids = {(i, j): f"n{i}{j}" for i in range(w) for j in range(h)}
    others = [v for k, v in ids.items() if k != (0, 0)]
    points = set(draw(st.lists(st.sampled_from(others), min_size=1, max_size=4)))
    nodes = [{"id": v, "x": i * SPACING, "y": j * SPACING,
              "kind": "dock" if (i, j) == (0, 0) else ("inspection" if v in points
                                                        else "waypoint")}
             for (i, j), v in ids.items()]
    # a comb keeps every node connected; the other rungs come and go
    edges = [(ids[i, 0], ids[i + 1, 0]) for i in range(w - 1)]
    edges += [(ids[i, j], ids[i, j + 1]) for i in range(w) for j in range(h - 1)]
    rungs = [(ids[i, j], ids[i + 1, j]) for i in range(w - 1) for j in range(1, h)]
    edges += [e for e in rungs if draw(st.booleans())]
    zones = []
    for k in range(draw(st.integers(0, 3))):
        a = draw(st.integers(1, w - 1))
        b = draw(st.integers(a, w - 1))
        c = draw(st.integers(0, h - 1))
        d = draw(st.integers(c, h - 1))
        x0, x1 = a * SPACING - SPACING / 2, b * SPACING + SPACING / 3
        y0, y1 = c * SPACING - SPACING / 3, d * SPACING + SPACING / 2
        zone = {"id": f"z{k}", "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}
        if group_one:
            zone |= {"kind": "ma_only", "reason": "goaf-edge"}
        else:
            zone |= {"kind": "gas_hazard", "atex_zone": draw(st.integers(0, 2))}
        zones.append(zone)
    doc = {"site": {"name": "drawn", "kind": "coal-mine" if group_one else "chemical-plant"},
           "nodes": nodes, "edges": [{"from": a, "to": b} for a, b in edges], "zones": zones}
    ratings = draw(st.lists(st.frozensets(st.sampled_from(list(Epl)), max_size=3),
                            min_size=1, max_size=3))
    return doc, ratings


def _zones_at(doc: dict[str, Any], geometry: Point | LineString) -> list[dict[str, Any]]:
    return [z for z in doc["zones"]
            if box(*z["polygon"][0], *z["polygon"][2]).intersects(geometry)]


def _check_path(doc: dict[str, Any], fac: Facility, path: tuple[str, ...] | list[str],
                ratings: frozenset[Epl], who: str) -> None:
    group_one = doc["site"]["kind"] == "coal-mine"
    xy = {n: (fac.nodes[n].x, fac.nodes[n].y) for n in path}
    for n in path:
        assert oracle_may(ratings, group_one, _zones_at(doc, Point(xy[n]))), (who, n)
    for a, b in itertools.pairwise(path):
        assert oracle_may(ratings, group_one, _zones_at(doc, LineString([xy[a], xy[b]]))), (
            who, a, b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=rated_sites())
def test_no_plan_or_route_sends_a_robot_where_its_ratings_forbid(
        drawn: tuple[dict[str, Any], list[frozenset[Epl]]]) -> None:
    doc, ratings = drawn
    fac = facility_from_document(doc)
    group_one = doc["site"]["kind"] == "coal-mine"
    classes = [robot_class(f"c{k}", epl=list(r), speed=2.0) for k, r in enumerate(ratings)]
    points = fac.inspection_points

    # the routing layer, for every class (misrated ones too): a route it finds is allowed
    for cls in classes:
        for p in points:
            route = shortest_route(fac, "n00", p, access=cls.access)
            if route is not None:
                _check_path(doc, fac, route.nodes, cls.ratings, cls.name)

    # the planner: a class the site does not admit is a problem, not a plan
    robots = fleet(*((f"r{k}", cls, "n00") for k, cls in enumerate(classes)))
    misrated = {c.name for c in classes if rating_problem(c.name, c.ratings, fac)}
    assert len(rating_problems(robots, fac)) == len(misrated)
    if misrated:
        with pytest.raises(MissionError):
            plan_mission(mission(fac, *(task(p) for p in points)), robots, time_limit=0.1)
        kept = tuple(r for r in robots.robots if r.robot_class.name not in misrated)
        robots = Fleet(kept, {r.robot_class.name: r.robot_class for r in kept})
        if not kept:
            return
    plan = plan_mission(mission(fac, *(task(p) for p in points)), robots, time_limit=0.1)
    for rp in plan.robots:
        cls = robots.robot(rp.serial).robot_class
        for stop in rp.stops:
            _check_path(doc, fac, stop.path or (stop.node,), cls.ratings, rp.serial)
    for u in plan.unassigned:
        if u.reason is DropReason.PROTECTION:  # and no robot was in fact rated for it
            here = _zones_at(doc, Point(fac.nodes[u.point].x, fac.nodes[u.point].y))
            assert not any(oracle_may(r.robot_class.ratings, group_one, here)
                           for r in robots.robots), u


def test_access_without_ratings_is_refused_by_a_coal_mine_everywhere() -> None:
    site = line_site("coal-mine")
    assert not site.admits(Access())
    assert shortest_route(site, "D", "P", access=Access()) is None
    assert shortest_route(site, "D", "P", access=Access(ratings=frozenset({MB}))) is not None
