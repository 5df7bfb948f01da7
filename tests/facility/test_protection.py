"""Explosion groups on the map: site kinds, Ma-only areas and ATEX zones, one-line
validation problems, ratings, and who may stand where (docs/gas-safety.md)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.errors import MapError
from fleet.facility.document import facility_from_document, facility_to_document
from fleet.facility.formats.geojson import read_geojson, write_geojson
from fleet.facility.formats.yaml_map import read_yaml, write_yaml
from fleet.facility.model import Access, Facility, ZoneKind
from fleet.facility.protection import (
    Epl,
    ExplosionGroup,
    MaOnlyReason,
    SiteKind,
    atex_needs,
    parse_ratings,
    ratings_value,
    site_group,
    stays_energised,
)

MA, MB, GA, GB, GC = Epl.MA, Epl.MB, Epl.GA, Epl.GB, Epl.GC
BOX = [[40, -10], [60, -10], [60, 10], [40, 10]]  # around point P at x = 50


def doc(site: dict[str, Any] | None = None, *zones: dict[str, Any]) -> dict[str, Any]:
    """A dock, a waypoint and an inspection point P in a row; P inside every zone given."""
    return {
        "site": {"name": "t", **(site or {})},
        "nodes": [{"id": "D", "x": 0, "y": 0, "kind": "dock"},
                  {"id": "W", "x": 25, "y": 0},
                  {"id": "P", "x": 50, "y": 0, "kind": "inspection"}],
        "edges": [{"from": "D", "to": "W"}, {"from": "W", "to": "P"}],
        "zones": [{"polygon": BOX, **z} for z in zones],
    }


def gas(atex: int = 1, zid: str = "g") -> dict[str, Any]:
    return {"id": zid, "kind": "gas_hazard", "atex_zone": atex, "gas": "ch4"}


def ma_only(reason: str | None = "goaf-edge", zid: str = "m") -> dict[str, Any]:
    return {"id": zid, "kind": "ma_only", **({"reason": reason} if reason else {})}


COAL = {"kind": "coal-mine"}
PLANT = {"kind": "chemical-plant"}


# ------------------------------------------------------------ map validation, one row each
# (site, zones) -> (element, words the one-line reason must contain)
PROBLEMS: list[tuple[str, dict[str, Any], tuple[str | None, tuple[str, ...]]]] = [
    ("atex zone on a coal mine", doc(COAL, gas(1)),
     ("zone g", ("ATEX zone 1 on a coal mine (group I)", "group I has no zones 0/1/2",
                 "whole underground counts as potentially firedamp", "Ma or Mb",
                 "IEC 60079-0", "ma_only"))),
    ("atex zone 0 on a gassy metal mine", doc({"kind": "metal-mine", "firedamp": True}, gas(0)),
     ("zone g", ("ATEX zone 0 on a metal mine with firedamp (group I)",))),
    ("atex zone on a coal mine named in the old site.meta.kind",
     doc({"meta": {"kind": "coal-mine"}}, gas(2)),
     ("zone g", ("ATEX zone 2 on a coal mine (group I)",))),
    ("ma-only area on a chemical plant", doc(PLANT, ma_only()),
     ("zone m", ("Ma-only area on a chemical plant (group II)", "belong to group I sites",
                 "gas_hazard zones 0/1/2"))),
    ("ma-only area on a metal mine without firedamp", doc({"kind": "metal-mine"}, ma_only()),
     ("zone m", ("Ma-only area on a metal mine (group II)",))),
    ("ma-only area on a site of no declared kind", doc(None, ma_only()),
     ("zone m", ("Ma-only area on a site of no declared kind", "declare the site's kind"))),
    ("unknown site kind", doc({"kind": "salt-dome"}),
     ("site", ("unknown kind 'salt-dome'", "coal-mine", "chemical-plant"))),
    ("firedamp false on a coal mine", doc({"kind": "coal-mine", "firedamp": False}),
     ("site", ("firedamp: false on a coal mine", "group I"))),
    ("firedamp on a plant", doc({"kind": "chemical-plant", "firedamp": True}),
     ("site", ("firedamp is declared on a chemical plant", "mines and tunnels only"))),
    ("firedamp without a kind", doc({"firedamp": True}),
     ("site", ("firedamp is declared but the site's kind is not",))),
    ("firedamp not a boolean", doc({"kind": "tunnel", "firedamp": "yes"}),
     ("site", ("firedamp must be true or false",))),
    ("unknown ma-only reason", doc(COAL, ma_only("bad-air")),
     ("zone m", ("unknown reason 'bad-air'", "gas-drainage", "disaster", "goaf-edge"))),
]


@pytest.mark.parametrize(("case", "document", "expected"), PROBLEMS,
                         ids=[p[0] for p in PROBLEMS])
def test_each_problem_is_one_line_naming_it(
        case: str, document: dict[str, Any], expected: tuple[str | None, tuple[str, ...]]
) -> None:
    with pytest.raises(MapError) as info:
        facility_from_document(document, file="m.yaml")
    element, words = expected
    (problem,) = info.value.problems
    assert problem.element == element, problem
    assert "\n" not in str(problem)
    for w in words:
        assert w in problem.reason, (case, w, problem.reason)


VALID = [
    ("coal mine with an Ma-only area", doc(COAL, ma_only()), ExplosionGroup.I),
    ("coal mine, Ma-only area without a reason", doc(COAL, ma_only(None)), ExplosionGroup.I),
    ("gassy tunnel", doc({"kind": "tunnel", "firedamp": True}, ma_only("disaster")),
     ExplosionGroup.I),
    ("plant with zones 0, 1 and 2", doc(PLANT, gas(0, "a"), gas(1, "b"), gas(2, "c")),
     ExplosionGroup.II),
    ("metal mine without firedamp, with a zone", doc({"kind": "metal-mine"}, gas(1)),
     ExplosionGroup.II),
    ("oil and gas site, firedamp not declared", doc({"kind": "oil-and-gas"}, gas(2)),
     ExplosionGroup.II),
    ("no kind: zones as before", doc(None, gas(1)), None),
]


@pytest.mark.parametrize(("case", "document", "group"), VALID, ids=[v[0] for v in VALID])
def test_valid_declarations_give_their_group(case: str, document: dict[str, Any],
                                             group: ExplosionGroup | None) -> None:
    assert facility_from_document(document).group is group


@pytest.mark.parametrize(("kind", "firedamp", "group"), [
    (None, None, None), (SiteKind.COAL_MINE, None, ExplosionGroup.I),
    (SiteKind.METAL_MINE, None, ExplosionGroup.II), (SiteKind.METAL_MINE, True, ExplosionGroup.I),
    (SiteKind.METAL_MINE, False, ExplosionGroup.II), (SiteKind.TUNNEL, True, ExplosionGroup.I),
    (SiteKind.CHEMICAL_PLANT, None, ExplosionGroup.II),
    (SiteKind.OIL_AND_GAS, None, ExplosionGroup.II),
])
def test_site_group(kind: SiteKind | None, firedamp: bool | None,
                    group: ExplosionGroup | None) -> None:
    assert site_group(kind, firedamp) is group


def test_cli_validate_prints_the_group_problems_one_per_line(tmp_path: Any) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text(write_yaml(facility_from_document(doc(None, gas(1, "a"), gas(2, "b"))))
                   .replace("site:\n", "site:\n  kind: coal-mine\n"), encoding="utf-8")
    result = CliRunner().invoke(app, ["map", "validate", str(bad)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all("group I has no zones" in line for line in lines)
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------ file formats
def _group_one_site() -> Facility:
    return facility_from_document(doc({"kind": "metal-mine", "firedamp": True},
                                      ma_only("gas-drainage")))


def test_yaml_round_trip_keeps_kind_firedamp_and_reason() -> None:
    fac = _group_one_site()
    again = read_yaml(write_yaml(fac))
    assert (again.kind, again.firedamp, again.group) == (
        SiteKind.METAL_MINE, True, ExplosionGroup.I)
    assert again.zones[0].reason is MaOnlyReason.GAS_DRAINAGE
    assert facility_to_document(again) == facility_to_document(fac)


def test_geojson_round_trip_keeps_kind_firedamp_and_reason() -> None:
    fac = _group_one_site()
    again = read_geojson(write_geojson(fac))
    assert (again.kind, again.firedamp) == (SiteKind.METAL_MINE, True)
    assert again.zones[0].kind is ZoneKind.MA_ONLY
    assert again.zones[0].reason is MaOnlyReason.GAS_DRAINAGE


def test_map_info_names_kind_and_group() -> None:
    from fleet.cli.map import facility_info

    info = facility_info(_group_one_site())
    assert (info["kind"], info["group"]) == ("metal-mine", "I")
    assert info["zones"][0]["reason"] == "gas-drainage"


# ----------------------------------------------------------------------------- ratings
@pytest.mark.parametrize(("value", "ratings"), [
    ("Mb", {MB}), ("mb", {MB}), (" Ma ", {MA}), (["Mb", "Gb"], {MB, GB}),
    (["Ma", "ma"], {MA}), ("none", set()), (None, set()), ([], set()), ("", set()),
    (GC, {GC}),
])
def test_ratings_are_one_or_a_list(value: object, ratings: set[Epl]) -> None:
    assert parse_ratings(value) == frozenset(ratings)


@pytest.mark.parametrize("value", ["Gx", "zone0", ["Mb", "Zz"], 3, ["Mb", None], {"a": 1}])
def test_unknown_ratings_are_named(value: object) -> None:
    with pytest.raises(ValueError, match="unknown protection level"):
        parse_ratings(value)


def test_ratings_are_written_as_one_or_a_list() -> None:
    assert ratings_value(frozenset()) is None
    assert ratings_value(frozenset({MB})) == "Mb"
    assert ratings_value(frozenset({GB, MB})) == ["Mb", "Gb"]
    assert [e.group for e in (MA, MB, GA)] == [ExplosionGroup.I, ExplosionGroup.I,
                                               ExplosionGroup.II]
    assert atex_needs(0) == "Ga" and atex_needs(1) == "Ga or Gb" and atex_needs(2) == \
        "Ga, Gb or Gc"


# (site, zones, ratings) -> may a robot stand at P (inside the zones) / at D (outside)?
STANDING: list[tuple[str, dict[str, Any], frozenset[Epl], bool, bool]] = [
    ("coal mine: Ma in the Ma-only area", doc(COAL, ma_only()), frozenset({MA}), True, True),
    ("coal mine: Mb kept out of it", doc(COAL, ma_only()), frozenset({MB}), False, True),
    ("coal mine: Mb and Gb kept out", doc(COAL, ma_only()), frozenset({MB, GB}), False, True),
    ("coal mine: Ga nowhere", doc(COAL, ma_only()), frozenset({GA}), False, False),
    ("coal mine: unrated nowhere", doc(COAL), frozenset(), False, False),
    ("coal mine: Mb anywhere without areas", doc(COAL), frozenset({MB}), True, True),
    ("plant: Gb in zone 1", doc(PLANT, gas(1)), frozenset({GB}), True, True),
    ("plant: Gc not in zone 1", doc(PLANT, gas(1)), frozenset({GC}), False, True),
    ("plant: Ga in zone 0", doc(PLANT, gas(0)), frozenset({GA}), True, True),
    ("plant: Gb not in zone 0", doc(PLANT, gas(0)), frozenset({GB}), False, True),
    ("plant: Mb outside zones only", doc(PLANT, gas(2)), frozenset({MB}), False, True),
    ("plant: Ma is no G rating", doc(PLANT, gas(2)), frozenset({MA}), False, True),
    ("plant: Mb and Gc in zone 2", doc(PLANT, gas(2)), frozenset({MB, GC}), True, True),
    ("plant: unrated outside zones", doc(PLANT, gas(2)), frozenset(), False, True),
    ("no kind: Gb in zone 1 as before", doc(None, gas(1)), frozenset({GB}), True, True),
]


@pytest.mark.parametrize(("case", "document", "ratings", "at_p", "at_d"), STANDING,
                         ids=[s[0] for s in STANDING])
def test_who_may_stand_where(case: str, document: dict[str, Any], ratings: frozenset[Epl],
                             at_p: bool, at_d: bool) -> None:
    fac = facility_from_document(document)
    access = Access(ratings=ratings)
    assert fac.node_allowed("P", access) is at_p
    assert fac.node_allowed("D", access) is at_d
    assert fac.traversable(fac.edge_between("W", "P"), access) is at_p  # type: ignore[arg-type]
    assert access.stays_energised is stays_energised(ratings) is (MA in ratings)
