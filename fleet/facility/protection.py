"""Explosion protection: site kinds and explosion groups, equipment protection levels, and
the rules that say where a robot of given ratings may be.

The rules, as this module applies them (docs/gas-safety.md explains them at length):

- **Explosion groups** (IEC 60079-0, clause 4, "equipment grouping"). Group I is equipment
  for mines susceptible to firedamp (methane): coal mines, and other mines or tunnels
  where firedamp occurs. Group II is everything else with explosive gas atmospheres:
  chemical plants, refineries, oil and gas, and mines without firedamp. A site's group
  follows from its kind (:class:`SiteKind`) and, for metal mines and tunnels, from whether
  the map declares ``firedamp: true`` (:func:`site_group`).
- **Ratings** (equipment protection levels, IEC 60079-0). Group I: ``Ma`` stays safe
  energised in firedamp; ``Mb`` is safe until it is de-energised when methane appears.
  Group II: ``Ga``, ``Gb``, ``Gc`` for zones 0, 1 and 2 (IEC 60079-14). A robot may carry
  ratings of both groups (``Mb`` and ``Gb``).
- **Group I sites** have no zones 0/1/2: the whole underground counts as potentially
  firedamp, so every robot on the site must be rated ``Ma`` or ``Mb`` (IEC 60079-0; the
  China Coal Mine Safety Regulations require explosion-protected equipment for coal mines
  underground). Areas where equipment must stay energised in firedamp (gas-drainage
  roadways, disaster areas, goaf edges) are marked Ma-only: ``Ma`` robots only.
- **Group II sites** keep zones 0/1/2 (IEC 60079-10-1) with ``Ga``/``Gb``/``Gc``
  (IEC 60079-14: zone 0 Ga; zone 1 Ga or Gb; zone 2 Ga, Gb or Gc); outside the zones any
  robot may drive.
- **Sites of no declared kind** keep the rules of maps made before site kinds existed:
  zones 0/1/2 with G ratings and no site-wide requirement.

:meth:`fleet.facility.model.Facility.node_allowed` and
:meth:`~fleet.facility.model.Facility.traversable` are where these rules are applied to a
robot; everything that routes, plans, verifies or validates asks them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleet.facility.model import Facility


class ExplosionGroup(StrEnum):
    """Equipment group of a site (IEC 60079-0, clause 4)."""

    I = "I"  # noqa: E741 (the standard's own name)
    """Mines susceptible to firedamp: robots rated Ma or Mb, Ma-only areas, no zones."""
    II = "II"
    """Other places with explosive gas atmospheres: zones 0/1/2 and Ga/Gb/Gc ratings."""


class Epl(StrEnum):
    """Equipment protection level (IEC 60079-0): a robot's rating. Dust levels (Da, Db,
    Dc) are not modelled."""

    MA = "Ma"
    """Group I, very high protection: stays safe while energised in firedamp (in an
    outbreak of gas), so it may work in Ma-only areas and anywhere Mb may."""
    MB = "Mb"
    """Group I, high protection: safe in normal operation and expected faults until it is
    de-energised when methane appears; anywhere on a group I site except Ma-only areas."""
    GA = "Ga"
    """Group II, very high protection: ATEX zones 0, 1 and 2 (IEC 60079-14)."""
    GB = "Gb"
    """Group II, high protection: zones 1 and 2."""
    GC = "Gc"
    """Group II, enhanced protection: zone 2 only."""

    @property
    def group(self) -> ExplosionGroup:
        """The explosion group the rating belongs to."""
        return ExplosionGroup.I if self.value.startswith("M") else ExplosionGroup.II


GROUP_I_RATINGS = frozenset({Epl.MA, Epl.MB})
"""Ratings that admit a robot to a group I site."""
GROUP_II_RATINGS = frozenset({Epl.GA, Epl.GB, Epl.GC})
"""Ratings for the zones of a group II site."""

# IEC 60079-14: zone 0 -> Ga; zone 1 -> Ga, Gb; zone 2 -> Ga, Gb, Gc.
_ZONE_RATINGS: dict[int, frozenset[Epl]] = {
    0: frozenset({Epl.GA}),
    1: frozenset({Epl.GA, Epl.GB}),
    2: frozenset({Epl.GA, Epl.GB, Epl.GC}),
}
_ORDER = {e: i for i, e in enumerate(Epl)}


class SiteKind(StrEnum):
    """What a site is; its explosion group follows (:func:`site_group`)."""

    COAL_MINE = "coal-mine"
    """An underground coal mine: always group I (every coal mine is treated as a gas mine
    under the China Coal Mine Safety Regulations; group I is "mines susceptible to
    firedamp", IEC 60079-0)."""
    METAL_MINE = "metal-mine"
    """An underground metal or non-metal mine: group II, or group I when the map declares
    ``firedamp: true`` (a gassy mine, such as some potash or trona mines)."""
    TUNNEL = "tunnel"
    """A tunnel under construction or in service: group II, or group I with
    ``firedamp: true`` (a tunnel driven through coal-bearing strata)."""
    CHEMICAL_PLANT = "chemical-plant"
    """A chemical plant or refinery: group II."""
    OIL_AND_GAS = "oil-and-gas"
    """Oil and gas production, terminals and storage: group II."""

    @property
    def firedamp_declarable(self) -> bool:
        """Whether the map may say ``firedamp:`` (underground sites that may or may not
        be susceptible to firedamp)."""
        return self in (SiteKind.METAL_MINE, SiteKind.TUNNEL)

    @property
    def label(self) -> str:
        """How messages name the kind: "a coal mine", "a chemical plant"."""
        return {SiteKind.OIL_AND_GAS: "an oil and gas site"}.get(
            self, "a " + self.value.replace("-", " "))


class MaOnlyReason(StrEnum):
    """Why an area of a group I site is for Ma-rated robots only."""

    GAS_DRAINAGE = "gas-drainage"
    """A gas-drainage roadway or pump station: methane may stay above the power-off level
    of other roadways (methane sensors there cut power at 2.5 % CH4, against 1.0-1.5 %
    at faces and returns: AQ1029 settings under the China Coal Mine Safety Regulations,
    as quoted in the project's safety-limits reference)."""
    DISASTER = "disaster"
    """An area after an explosion, fire or outburst, entered for rescue or recovery with
    an unknown atmosphere."""
    GOAF_EDGE = "goaf-edge"
    """Seals, the upper corner of a longwall and other places next to a goaf, where goaf
    gas flows out unannounced."""


def site_group(kind: SiteKind | None, firedamp: bool | None = None) -> ExplosionGroup | None:
    """The explosion group of a site of ``kind``; ``firedamp`` is the map's declaration
    (``None``: not declared). ``None`` when the kind is not declared: such a site keeps
    zones 0/1/2 with G ratings and has no site-wide requirement.

    A coal mine is group I whatever ``firedamp`` says (a contradiction is reported by
    :func:`site_problems`); a metal mine or tunnel is group I only with ``firedamp``
    true; plants are group II (IEC 60079-0, clause 4).
    """
    if kind is None:
        return None
    if kind is SiteKind.COAL_MINE:
        return ExplosionGroup.I
    if kind.firedamp_declarable and firedamp:
        return ExplosionGroup.I
    return ExplosionGroup.II


def site_label(kind: SiteKind | None, firedamp: bool | None = None) -> str:
    """How messages name a site: "a coal mine (group I)", "a metal mine with firedamp
    (group I)", "a chemical plant (group II)", "a site of no declared kind"."""
    group = site_group(kind, firedamp)
    if kind is None or group is None:
        return "a site of no declared kind"
    with_firedamp = " with firedamp" if kind.firedamp_declarable and firedamp else ""
    return f"{kind.label}{with_firedamp} (group {group.value})"


def site_problems(kind: SiteKind | None, firedamp: bool | None) -> list[str]:
    """What contradicts itself in a site's declaration (one line each): ``firedamp``
    without a kind, ``firedamp: false`` on a coal mine, ``firedamp`` on a plant."""
    if firedamp is None:
        return []
    if kind is None:
        return ["firedamp is declared but the site's kind is not: give site kind "
                f"({', '.join(k.value for k in SiteKind)})"]
    if kind is SiteKind.COAL_MINE and not firedamp:
        return ["firedamp: false on a coal mine: every coal mine is susceptible to firedamp "
                "and group I (IEC 60079-0); drop firedamp or change the kind"]
    if not kind.firedamp_declarable and kind is not SiteKind.COAL_MINE:
        return [f"firedamp is declared on {kind.label}: it is for mines and tunnels only "
                "(group I is mines susceptible to firedamp, IEC 60079-0)"]
    return []


def parse_ratings(value: object) -> frozenset[Epl]:
    """A robot's ratings from a file or the wire: one rating (``"Mb"``), a list
    (``["Mb", "Gb"]``), or ``none``/null/an empty list for none; case does not matter.
    ``ValueError`` naming the bad value otherwise."""
    if value is None:
        return frozenset()
    if isinstance(value, Epl):
        return frozenset({value})
    if isinstance(value, str):
        if value.strip().lower() in ("none", ""):
            return frozenset()
        return frozenset({_one(value)})
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(_one(v) for v in value)
    raise ValueError(f"unknown protection level {value!r} "
                     "(Ma, Mb, Ga, Gb, Gc, a list of them, or none)")


def _one(value: object) -> Epl:
    if isinstance(value, Epl):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return Epl(text[:1].upper() + text[1:].lower())
        except ValueError:
            pass
    raise ValueError(f"unknown protection level {value!r} "
                     "(Ma, Mb, Ga, Gb, Gc, a list of them, or none)")


def ordered(ratings: Iterable[Epl]) -> list[Epl]:
    """Ratings in the standard's order: Ma, Mb, Ga, Gb, Gc."""
    return sorted(set(ratings), key=_ORDER.__getitem__)


def ratings_value(ratings: Iterable[Epl]) -> str | list[str] | None:
    """Ratings as fleet files, factsheets and JSON answers write them: ``None`` for none,
    the rating itself for one (``"Mb"``), a list for several (``["Mb", "Gb"]``)."""
    values = [e.value for e in ordered(ratings)]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def ratings_text(ratings: Iterable[Epl]) -> str:
    """Ratings for people: ``Mb``, ``Mb and Gb``, ``none``."""
    values = [e.value for e in ordered(ratings)]
    return " and ".join(values) if values else "none"


def stays_energised(ratings: Iterable[Epl]) -> bool:
    """Whether a robot of these ratings may stay energised in firedamp (it is rated
    ``Ma``, IEC 60079-0): the one that may enter Ma-only areas and keep working when
    methane rises past the power-off level."""
    return Epl.MA in frozenset(ratings)


def group_allows(ratings: frozenset[Epl], group: ExplosionGroup | None) -> bool:
    """Whether a robot of these ratings may be on a site of ``group`` at all: on a group
    I site only when rated Ma or Mb (IEC 60079-0); anywhere else always (zones decide)."""
    return group is not ExplosionGroup.I or bool(ratings & GROUP_I_RATINGS)


def atex_allows(ratings: frozenset[Epl], atex_zone: int) -> bool:
    """Whether a robot of these ratings may enter an ATEX zone 0, 1 or 2 (IEC 60079-14);
    an unknown zone number is treated as zone 0."""
    return bool(ratings & _ZONE_RATINGS.get(atex_zone, _ZONE_RATINGS[0]))


def atex_needs(atex_zone: int) -> str:
    """What an ATEX zone needs, for messages: ``Ga``, ``Ga or Gb``, ``Ga, Gb or Gc``."""
    names = [e.value for e in ordered(_ZONE_RATINGS.get(atex_zone, _ZONE_RATINGS[0]))]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def rating_problem(name: str, ratings: frozenset[Epl], site: Facility) -> str | None:
    """Why robots of class ``name`` with ``ratings`` may not work on ``site`` as rated, in
    one line, or ``None`` when they may.

    - group I: a class without Ma or Mb (unrated, or G ratings only) may not be
      underground at all;
    - group II: a class rated Ma or Mb only, on a site with ATEX zones, is rated for the
      wrong group: it may not enter the zones, and an M rating claims a protection the
      site does not recognise (give it a G rating too, or none if it keeps out of them).
    """
    group = site.group
    where = site_label(site.kind, site.firedamp)
    if group is ExplosionGroup.I and not group_allows(ratings, group):
        rated = "unrated" if not ratings else f"rated {ratings_text(ratings)}"
        return (f"robot class {name} is {rated}: {where} needs Ma or Mb on every robot "
                "underground (IEC 60079-0)")
    if (group is ExplosionGroup.II and ratings and ratings <= GROUP_I_RATINGS
            and site.has_atex_zones):
        return (f"robot class {name} is rated {ratings_text(ratings)} only: a group I rating "
                f"does not admit it to the zones 0/1/2 of {where}, which need Ga, Gb or Gc "
                "(IEC 60079-14); add a G rating (epl: [Mb, Gb]) or give epl: none if it "
                "keeps out of the zones")
    return None


__all__ = [
    "GROUP_II_RATINGS",
    "GROUP_I_RATINGS",
    "Epl",
    "ExplosionGroup",
    "MaOnlyReason",
    "SiteKind",
    "atex_allows",
    "atex_needs",
    "group_allows",
    "ordered",
    "parse_ratings",
    "rating_problem",
    "ratings_text",
    "ratings_value",
    "site_group",
    "site_label",
    "site_problems",
    "stays_energised",
]
