"""Generate the sample sites ``maps/coal_mine.yaml`` and ``maps/chemical_plant.yaml``.

Run from the repository root::

    python maps/tools/make_samples.py            # rewrite both maps
    python maps/tools/make_samples.py --check    # exit 1 when the committed maps differ

The sites are fictional but laid out as real ones are, each with the rules of its
explosion group (IEC 60079-0; docs/gas-safety.md). The coal mine is group I: no ATEX
zones (the whole underground counts as potentially firedamp, so every robot is rated Ma
or Mb) and Ma-only areas at the seals of the old goafs, where goaf gas leaks out
unannounced. The plant is group II: H2S and flammable-gas zones 0/1/2 (IEC 60079-10-1),
so only Ga robots reach zone-0 points and Ga/Gb robots zone-1 points (IEC 60079-14).
Methane figures follow ``shared/reference/safety-limits.md``.
"""

from __future__ import annotations

import argparse
import sys
from itertools import pairwise
from pathlib import Path

from site_builder import P, Site, circle, rect

MAPS = Path(__file__).resolve().parents[1]

# Edge presets (m/s). Robots drive slower than vehicles; these are site limits for robots.
MAIN_ROAD = {"max_speed": 3.0}
ROAD = {"max_speed": 2.0}
RETURN_ROAD = {"max_speed": 1.5}
ENTRY = {"max_speed": 1.2, "single_lane": True}
CROSSCUT = {"max_speed": 1.0, "single_lane": True}
STUB = {"max_speed": 0.8, "single_lane": True}
FACE = {"max_speed": 0.5, "single_lane": True}


def insp(x: float, y: float, nid: str, name: str, *tags: str) -> P:
    """An inspection point on a road."""
    return P(x, y, nid, "inspection", name, tags)


# ======================================================================= coal mine
def coal_mine() -> Site:
    s = Site(
        "Qingshan Colliery",
        "Sample underground coal mine: main level -350 m (pit bottom, main haulage, belt "
        "and return roads) and mining level -420 m (district roads, longwall panel 2201 "
        "with headgate, face and tailgate, a development heading), joined by an inclined "
        "man-riding shaft and a return ramp. Fictional; coordinates in metres.",
        "coal-mine",
        {"generator": "maps/tools/make_samples.py",
         "methane_limits": "see shared/reference/safety-limits.md"},
    )
    up = s.level("L-350", "Main level -350 m", -350)
    lo = s.level("L-420", "Mining level -420 m", -420)

    # ---------------------------------------------------------------- level -350
    s.section("L-350 pit bottom: one-way loop around the main (cage) shaft")
    loop = [
        s.node("pb-01", -40, -30, up, tags=["pit-bottom"]),
        s.node("pb-02", -40, 30, up, tags=["pit-bottom"]),
        s.node("pb-03", -100, 30, up, tags=["pit-bottom"]),
        s.node("pb-04", -160, 30, up, tags=["pit-bottom"]),
        s.node("pb-05", -160, -30, up, tags=["pit-bottom"]),
        s.node("pb-06", -100, -30, up, tags=["pit-bottom"]),
    ]
    for a, b in zip(loop, loop[1:] + loop[:1], strict=True):
        s.edge(a, b, max_speed=1.5, one_way=True)
    s.node("ms-inset", -100, 0, up, "inspection", "Main shaft inset (cage landing)",
           ["shaft", "pit-bottom", "intake"])
    s.edge("pb-03", "ms-inset", **STUB)
    s.edge("ms-inset", "pb-06", **STUB)

    s.section("L-350 pit bottom chambers: robot garage, refuge, pump room, substation")
    s.node("garage", -100, 60, up, name="Robot garage", tags=["pit-bottom"])
    s.node("dock-01", -125, 60, up, "dock", "Dock 1 (robot garage)", ["pit-bottom"])
    s.node("dock-02", -75, 60, up, "dock", "Dock 2 (robot garage)", ["pit-bottom"])
    s.node("chg-01", -100, 80, up, "charger", "Charger 1 (robot garage)", ["pit-bottom"])
    s.edge("pb-03", "garage", **STUB)
    for d in ("dock-01", "dock-02", "chg-01"):
        s.edge("garage", d, **STUB)
    s.node("refuge-350", -160, 75, up, "refuge", "Refuge chamber RC-1 (pit bottom)",
           ["pit-bottom", "refuge"])
    s.edge("pb-04", "refuge-350", **STUB)
    s.road("pr", up, ["pb-05", P(-160, -70, "pump-room", name="Main pump room"),
                      insp(-160, -100, "sump", "Main sump (water level)", "water", "sump")],
           every=50, tags=["pit-bottom"], **STUB)
    s.node("pump-1", -190, -70, up, "inspection", "Main dewatering pump 1", ["pump", "water"])
    s.node("pump-2", -130, -70, up, "inspection", "Main dewatering pump 2", ["pump", "water"])
    s.edge("pump-room", "pump-1", **STUB)
    s.edge("pump-room", "pump-2", **STUB)
    s.node("substation", -100, -70, up, "inspection", "Central substation (6 kV)",
           ["electrical", "substation", "pit-bottom"])
    s.edge("pb-06", "substation", **STUB)

    s.section("L-350 main haulage road (intake, track), pit bottom to the inclined shaft")
    mh = s.road("mh", up, [
        P(0, 0, "mh-00", name="Main haulage road, pit-bottom end"),
        insp(150, 0, "mh-roof-1", "Main haulage road roof bolts 150 m", "haulage", "roof"),
        P(250, 0, "mh-xc1"),
        P(300, 0, "mh-xb1"),
        insp(400, 0, "mh-roof-2", "Main haulage road roof bolts 400 m", "haulage", "roof"),
        P(500, 0, "mh-xc2"),
        insp(600, 0, "mh-roof-3", "Main haulage road roof bolts 600 m", "haulage", "roof"),
        P(650, 0, "mh-xb2"),
        P(750, 0, "mh-xc3"),
        insp(850, 0, "mh-roof-4", "Main haulage road roof bolts 850 m", "haulage", "roof"),
        P(1000, 0, "mh-end", name="Main haulage road, shaft-top end"),
    ], every=50, tags=["haulage", "intake"], **MAIN_ROAD)
    s.edge("pb-01", mh[0], **ROAD)
    s.edge(mh[0], "pb-02", **ROAD)

    s.section("L-350 main belt road (intake, trunk conveyor to the coal bunker)")
    s.node("bunker", -30, 90, up, "inspection", "Coal bunker (belt discharge)",
           ["conveyor", "bunker", "pit-bottom"])
    s.road("mb", up, [
        "bunker",
        insp(0, 60, "mb-tail", "Trunk belt discharge / transfer point", "conveyor"),
        insp(150, 60, "mb-idl-1", "Trunk belt idlers 150 m", "conveyor"),
        P(300, 60, "mb-xb1"),
        insp(375, 60, "mb-idl-2", "Trunk belt idlers 375 m", "conveyor"),
        P(450, 60, "mb-nw"),
        insp(550, 60, "mb-idl-3", "Trunk belt idlers 550 m", "conveyor"),
        P(650, 60, "mb-xb2"),
        insp(750, 60, "mb-take-up", "Trunk belt take-up (tensioner)", "conveyor"),
        insp(900, 60, "mb-idl-4", "Trunk belt idlers 900 m", "conveyor"),
        P(1000, 60, "mb-end"),
        insp(1040, 60, "mb-drive", "Trunk belt drive head (motors, gearboxes)",
             "conveyor", "belt-drive", "electrical"),
    ], every=50, tags=["conveyor", "intake"], **ROAD)
    s.edge("mb-tail", mh[0], **CROSSCUT)

    s.section("L-350 main return airway to the upcast shaft")
    s.road("mr", up, [
        insp(-60, -140, "upcast", "Upcast shaft bottom (main fan suction)",
             "return", "fan", "shaft"),
        P(0, -120, "mr-fan", name="Fan drift"),
        P(60, -80, "mr-00"),
        insp(150, -80, "mr-ch4-1", "Main return CH4/CO sensor station 1", "return"),
        P(250, -80, "mr-xc1"),
        insp(375, -80, "mr-ch4-2", "Main return CH4/CO sensor station 2", "return"),
        P(500, -80, "mr-xc2"),
        insp(675, -80, "mr-ch4-3", "Main return CH4/CO sensor station 3", "return"),
        P(750, -80, "mr-xc3"),
        insp(900, -80, "mr-ch4-4", "Main return CH4/CO sensor station 4", "return"),
        P(1000, -80, "mr-end"),
        P(1060, -80, "rr-top", "landing", "Return ramp top", ("return",)),
    ], every=50, tags=["return"], **RETURN_ROAD)

    s.section("L-350 crosscuts: haulage-belt (open) and haulage-return (ventilation doors)")
    for i, (hx, bx) in enumerate((("mh-xb1", "mb-xb1"), ("mh-xb2", "mb-xb2")), 1):
        s.road(f"xb{i}", up, [hx, bx], every=100, tags=["crosscut", "intake"], **CROSSCUT)
    for i, x in enumerate((250, 500, 750), 1):
        s.road(f"xc{i}", up, [
            f"mh-xc{i}",
            insp(x, -40, f"door-{i}", f"Ventilation door pair D-{i}", "door", "crosscut",
                 "ventilation"),
        ], every=100, tags=["crosscut"], **CROSSCUT)
        # door pair D-2 is under repair: its crosscut is closed on the return side
        s.edge(f"door-{i}", f"mr-xc{i}", closed=(i == 2), **CROSSCUT)

    s.section("L-350 north wing: old district sealed off behind two seals")
    s.road("nw", up, [
        "mb-nw",
        insp(450, 180, "nw-roof", "North wing roof support check", "roof"),
        P(450, 300, "nw-jn"),
        insp(450, 385, "seal-n1", "Seal N-1 (old north district)", "seal", "goaf"),
    ], every=50, tags=["north-wing"], **ENTRY)
    s.road("nw", up, [
        "nw-jn",
        insp(605, 300, "seal-n2", "Seal N-2 (old north-east district)", "seal", "goaf"),
    ], every=50, tags=["north-wing"], **ENTRY)

    s.section("L-350 inclined shaft top station, hoist room, charger")
    s.node("is-top", 1070, 25, up, "landing", "Inclined shaft top (man-riding station)",
           ["shaft"])
    s.edge("mh-end", "is-top", **ROAD)
    s.edge("mb-drive", "is-top", **STUB)
    s.node("hoist", 1070, -20, up, "inspection", "Inclined shaft hoist (winch, brakes)",
           ["shaft", "hoist", "electrical"])
    s.edge("is-top", "hoist", **STUB)
    s.node("chg-02", 980, -35, up, "charger", "Charger 2 (shaft top)", ["shaft"])
    s.edge("mh-end", "chg-02", **STUB)

    # ---------------------------------------------------------------- level -420
    s.section("Level links: inclined man-riding shaft and the return ramp")
    s.node("is-bot", 1375, 30, lo, "landing", "Inclined shaft bottom", ["shaft"])
    s.node("rr-bot", 1510, -80, lo, "landing", "Return ramp bottom", ["return"])
    # 320 m at about 12.6 degrees for the 70 m between the levels
    s.edge("is-top", "is-bot", kind="shaft", length=320, max_speed=0.8, single_lane=True)
    s.edge("rr-top", "rr-bot", kind="ramp", length=460, max_speed=1.0, single_lane=True)

    s.section("L-420 shaft bottom station, district intake road, docks and chargers")
    s.road("di", lo, [
        "is-bot",
        insp(1410, 30, "sb-station", "Shaft bottom station (onsetter)", "shaft"),
        P(1460, 30, "di-dock"),
        P(1550, 30, "di-xc1"),
        P(1600, 30, "di-dev"),
        insp(1650, 30, "di-ch4", "District intake CH4 sensor", "intake"),
        P(1700, 30, "di-xc2"),
        insp(1750, 30, "di-roof", "District intake roof support check", "roof"),
        P(1800, 30, "hg-00", name="Headgate mouth"),
    ], every=50, tags=["intake"], **ROAD)
    s.node("chg-03", 1410, -20, lo, "charger", "Charger 3 (shaft bottom)", ["shaft"])
    s.edge("sb-station", "chg-03", **STUB)
    s.node("dock-03", 1460, 75, lo, "dock", "Dock 3 (mining district)", ["intake"])
    s.edge("di-dock", "dock-03", **STUB)
    s.node("refuge-420", 1700, 80, lo, "refuge", "Refuge chamber RC-2 (mining district)",
           ["refuge", "intake"])
    s.edge("di-xc2", "refuge-420", **STUB)

    s.section("L-420 district return road (to the return ramp)")
    s.road("dr", lo, [
        "rr-bot",
        P(1550, -80, "dr-xc1"),
        insp(1625, -80, "dr-ch4-1", "District return CH4 sensor 1", "return"),
        P(1700, -80, "dr-xc2"),
        insp(1850, -80, "dr-ch4-2", "District return CH4 sensor 2", "return"),
        insp(1950, -80, "dr-ch4-3", "District return CH4 sensor 3", "return"),
        P(2020, -80, "tg-00", name="Tailgate mouth"),
    ], every=50, tags=["return"], **RETURN_ROAD)

    s.section("L-420 district crosscuts with ventilation doors")
    for i, x in ((1, 1550), (2, 1700)):
        s.road(f"dx{i}", lo, [
            f"di-xc{i}",
            insp(x, -25, f"door-d{i}", f"District ventilation door D-{i + 3}", "door",
                 "crosscut", "ventilation"),
            f"dr-xc{i}",
        ], every=100, tags=["crosscut"], **CROSSCUT)

    s.section("L-420 headgate of longwall 2201 (intake, gate belt)")
    s.road("hg", lo, [
        "hg-00",
        insp(1800, 80, "hg-drive", "Gate belt drive head", "conveyor", "belt-drive",
             "electrical"),
        P(1800, 125, "hg-chg"),
        insp(1800, 200, "hg-belt-1", "Gate belt idlers 200 m", "conveyor"),
        insp(1800, 275, "hg-switch", "Switch train (transformer, starters)", "electrical"),
        insp(1800, 350, "hg-belt-2", "Gate belt idlers 350 m", "conveyor"),
        insp(1800, 425, "hg-pump", "Emulsion pump station", "pump", "hydraulic"),
        insp(1800, 500, "hg-belt-3", "Gate belt idlers 500 m", "conveyor"),
        insp(1800, 560, "hg-loader", "Stage loader and crusher", "conveyor", "face"),
        insp(1800, 600, "face-lc", "Face lower corner (headgate end)", "face", "longwall"),
    ], every=50, tags=["headgate", "intake"], **ENTRY)
    s.node("chg-04", 1765, 125, lo, "charger", "Charger 4 (headgate)", ["headgate", "intake"])
    s.edge("hg-chg", "chg-04", **STUB)

    s.section("L-420 longwall face 2201 (220 m, about 125 shields)")
    face = ["face-lc"]
    for k in range(1, 11):
        x = 1800 + 20 * k
        face.append(s.node(f"face-{k:02d}", x, 600, lo, "inspection",
                           f"Longwall face at shield {round(20 * k / 1.75)}",
                           ["face", "longwall", "shields"]))
    face.append(s.node("tg-uc", 2020, 600, lo, "inspection",
                       "Face upper corner (tailgate end, CH4 accumulation)",
                       ["face", "longwall", "return", "upper-corner"]))
    for a, b in pairwise(face):
        s.edge(a, b, **FACE)

    s.section("L-420 tailgate of longwall 2201 (return) with seals to the old goaf")
    s.road("tg", lo, [
        "tg-uc",
        insp(2020, 540, "tg-ch4-1", "Tailgate CH4 sensor 60 m outby the face", "return"),
        P(2020, 500, "tg-s3"),
        insp(2020, 400, "tg-roof-1", "Tailgate roof and standing supports", "return", "roof"),
        P(2020, 300, "tg-s2"),
        insp(2020, 200, "tg-ch4-2", "Tailgate CH4 sensor 400 m outby the face", "return"),
        P(2020, 100, "tg-s1"),
        insp(2020, 20, "tg-roof-2", "Tailgate roof and standing supports (outby)",
             "return", "roof"),
        "tg-00",
    ], every=50, tags=["tailgate", "return"], **ENTRY)
    for i, y in ((1, 100), (2, 300), (3, 500)):
        s.node(f"seal-{i:02d}", 2032, y, lo, "inspection",
               f"Seal S-{i} (goaf of old panel 2203)", ["seal", "goaf", "return"])
        s.edge(f"tg-s{i}", f"seal-{i:02d}", **STUB)

    s.section("L-420 development heading for panel 2202 (blind, auxiliary fan)")
    s.road("dev", lo, [
        "di-dev",
        insp(1600, 80, "dev-fan", "Auxiliary fan and duct", "heading", "fan", "intake"),
        insp(1600, 250, "dev-roof", "Heading roof bolts", "heading", "roof"),
        insp(1600, 450, "dev-face", "Development heading face (roadheader)", "heading",
             "face"),
    ], every=50, tags=["heading"], **ENTRY)

    # ---------------------------------------------------------------- passing bays
    # Single-lane entries get a widened bay (or a corner wide enough to pass at) every
    # 150-200 m, as a site cuts them, so that no stretch traffic control hands to one
    # direction is longer. Not split: the longwall face itself (220 m between its two
    # corners: shields and conveyor fill it), and the shaft and ramp (single edges).
    for nid in ("hg-03", "hg-05",          # headgate: 190 and 340 m inby the charger
                "face-lc", "tg-uc",        # the face's two corners (T-junctions)
                "dev-03", "dev-05",        # development heading: 180 and 320 m in
                "nw-02"):                  # north wing: 80 m off the belt road
        s.widen(nid)
    s.widen("garage", bay=False, capacity=3)  # the garage chamber holds three robots
    # docking bays: room for the robots stationed there and one more passing or waiting
    for dock, bays in (("dock-01", 3), ("dock-02", 3), ("dock-03", 4)):
        s.widen(dock, bay=False, capacity=bays)

    # ---------------------------------------------------------------- zones
    s.zone_section("L-350")
    s.zone("ms-slow", "speed_limit", up, rect(-115, -15, -85, 15), max_speed=0.5,
           name="Main shaft inset")
    s.zone("is-top-slow", "speed_limit", up, rect(1020, -35, 1100, 80), max_speed=0.5,
           name="Inclined shaft top station")
    s.zone("old-north-goaf", "no_go", up,
           [(380, 395), (615, 395), (615, 260), (760, 260), (760, 520), (380, 520)],
           name="Sealed old north district")
    # Group I (no ATEX zones): the seals of the old north district are a goaf edge, Ma only
    s.zone("seals-north", "ma_only", up, rect(440, 370, 460, 394), gas="ch4",
           reason="goaf-edge", name="Seal N-1 of the old north district")
    s.zone("seals-north-east", "ma_only", up, rect(590, 290, 614, 310), gas="ch4",
           reason="goaf-edge", name="Seal N-2 of the old north-east district")
    s.zone("mr-dead", "comms_dead", up, rect(600, -95, 750, -65),
           name="5G dead stretch of the main return")
    s.zone("nw-dead", "comms_dead", up, rect(480, 285, 560, 315),
           name="5G dead north-wing crosscut")
    s.zone_section("L-420")
    s.zone("is-bot-slow", "speed_limit", lo, rect(1350, 0, 1440, 60), max_speed=0.5,
           name="Inclined shaft bottom")
    # Group I: no ATEX zones. The seals of the old goaf of panel 2203 are an Ma-only area:
    # goaf gas leaks past seals without warning, so only robots that stay safe energised
    # in firedamp (Ma) go there; the tailgate they hang off stays open to Mb robots.
    s.zone("seals-2203", "ma_only", lo, rect(2026, 90, 2040, 510), gas="ch4",
           reason="goaf-edge", name="Seals of the old goaf 2203")
    s.zone("xc-dead", "comms_dead", lo, rect(1690, -55, 1710, 5),
           name="5G dead crosscut D-5")
    s.zone("tg-dead", "comms_dead", lo, rect(2008, 250, 2040, 400),
           name="5G dead stretch of the tailgate")
    s.zone("goaf-2201", "no_go", lo, rect(1806, 612, 2014, 925), name="Goaf of longwall 2201")
    s.zone("goaf-2203", "no_go", lo, rect(2045, -60, 2300, 925),
           name="Sealed goaf of old panel 2203")
    _location_types(s)
    return s


def _location_types(s: Site) -> None:
    """Tag each place of the mine with its AQ1029 location type (fleet.interlock,
    docs/gas-safety.md), which sets its methane alarm, power-off and restore levels: the
    longwall face and its upper corner a coal face (1.0 / 1.5 / <1.0 %), the tailgate and
    the district return a face return (1.0 / 1.0 / <1.0), the main return and the upcast a
    main return (0.75 / 1.0 / <0.75), the development heading's face a heading face.
    Intakes keep the Regulations' general rule (the same levels as a coal face)."""
    for nid in s.node_ids():
        if nid in ("face-lc", "tg-uc") or (nid.startswith("face-") and nid[5:].isdigit()):
            s.tag(nid, "coal-face")
        elif nid.startswith(("tg-", "dr-")):
            s.tag(nid, "face-return")
        elif nid.startswith("mr-") or nid in ("upcast", "rr-top", "rr-bot"):
            s.tag(nid, "main-return")
        elif nid == "dev-face":
            s.tag(nid, "heading-face")


# ================================================================== chemical plant
def chemical_plant() -> Site:
    s = Site(
        "Haibin Chemical Plant 3",
        "Sample chemical industrial zone: control room, hydrotreater unit U-100 (H2S, H2) "
        "with a +12 m process platform, pipe rack, tank farm with two bunds, truck loading "
        "bay, flare. Fictional; coordinates in metres.",
        "chemical-plant",
        {"generator": "maps/tools/make_samples.py"},
    )
    g = s.level("G", "Ground level", 0)
    p = s.level("P12", "U-100 process platform +12 m", 12)

    s.section("Roads (two-way, double lane)")
    road = {"max_speed": 2.5}
    s.road("rs", g, [P(0, 0, "sw-gate", name="South-west gate"), P(60, 0, "rs-cr"),
                     P(130, 0, "rs-sub"), P(180, 0, "rs-fw"), P(240, 0, "rs-c"),
                     P(300, 0, "rs-lb-in"), P(420, 0, "rs-lb-out"), P(480, 0, "se-corner")],
           every=40, tags=["road"], **road)
    s.road("rw", g, ["sw-gate", P(0, 150, "rw-pr"), P(0, 190, "rw-u1"), P(0, 260, "rw-u2"),
                     P(0, 300, "nw-corner")], every=40, tags=["road"], **road)
    s.road("rc", g, ["rs-c", P(240, 150, "rc-pr"), P(240, 190, "rc-u1"),
                     P(240, 260, "rc-u2"), P(240, 300, "rc-n")], every=40, tags=["road"],
           **road)
    s.road("re", g, ["se-corner", P(480, 60, "re-flare"), P(480, 150, "re-pr"),
                     P(480, 200, "re-pump"), P(480, 280, "re-chg"), P(480, 300, "ne-corner")],
           every=40, tags=["road"], **road)
    s.road("rn", g, ["nw-corner", "rc-n", P(360, 300, "rn-tf"), "ne-corner"], every=40,
           tags=["road"], **road)

    s.section("Control room, docks, chargers, utilities (south-west block)")
    s.road("cw", g, ["rs-cr", P(60, 40, "cw-01"),
                     P(60, 80, "ccr", name="Central control room (CCR)",
                       tags=("control-room",)),
                     P(60, 115, "cw-02")], every=40, tags=["walkway"], **ENTRY)
    s.node("dock-01", 35, 80, g, "dock", "Dock 1 (control room)", ["control-room"])
    s.node("dock-02", 35, 100, g, "dock", "Dock 2 (control room)", ["control-room"])
    s.node("chg-01", 85, 80, g, "charger", "Charger 1 (control room)", ["control-room"])
    s.edge("ccr", "dock-01", **STUB)
    s.edge("dock-01", "dock-02", **STUB)
    s.edge("ccr", "chg-01", **STUB)
    s.road("sub", g, ["rs-sub", insp(130, 45, "sub-1", "Substation SS-1 (transformers)",
                                     "electrical")], every=50, **STUB)
    s.road("fw", g, ["rs-fw", insp(180, 50, "fw-pump", "Fire water pump house P-901",
                                   "pump", "firewater")], every=50, **STUB)

    s.section("Pipe rack PR-1 walkway (east-west, under the rack)")
    s.road("pr", g, [
        "rw-pr",
        insp(40, 150, "pr-fl-01", "Pipe rack flange pair, steam header", "pipe-rack",
             "flange"),
        P(60, 150, "pr-cw"),
        insp(100, 150, "pr-vl-01", "Pipe rack block valve, feed line", "pipe-rack", "valve"),
        insp(160, 150, "pr-fl-02", "Pipe rack flange pair, H2 line", "pipe-rack", "flange"),
        P(200, 150, "pr-ah"),
        "rc-pr",
        insp(280, 150, "pr-fl-03", "Pipe rack flange pair, naphtha line", "pipe-rack",
             "flange"),
        insp(330, 150, "pr-vl-02", "Pipe rack block valve, tank farm header", "pipe-rack",
             "valve"),
        P(360, 150, "pr-tf"),
        insp(400, 150, "pr-fl-04", "Pipe rack expansion loop flanges", "pipe-rack", "flange"),
        insp(450, 150, "pr-vl-03", "Pipe rack block valve, loading header", "pipe-rack",
             "valve"),
        "re-pr",
    ], every=40, tags=["walkway"], max_speed=1.2, single_lane=True)
    s.edge("cw-02", "pr-cw", **ENTRY)
    # the control-room docks are in line (dock-02 is reached through dock-01): each has
    # room for its two robots and one passing through
    for dock in ("dock-01", "dock-02"):
        s.widen(dock, bay=False, capacity=3)
    s.widen("pr-01")  # a walkway bay halfway along the 140 m between cw and ah junctions
    s.node("ah-1", 200, 120, g, "inspection", "Analyser house AH-1", ["analyser"])
    s.edge("pr-ah", "ah-1", **STUB)

    s.section("U-100 hydrotreater, ground level: pump row (u1), compressors and reactor (u2)")
    s.road("u1", g, [
        "rw-u1",
        P(40, 190, "u1-stair"),
        insp(70, 190, "p-101a", "Feed pump P-101A (seal, bearings)", "pump"),
        insp(100, 190, "p-101b", "Feed pump P-101B (seal, bearings)", "pump"),
        P(120, 190, "u1-u3"),
        insp(140, 190, "p-102a", "Sour water pump P-102A", "pump"),
        insp(170, 190, "p-102b", "Sour water pump P-102B", "pump"),
        P(210, 190, "u1-d101"),
        "rc-u1",
    ], every=40, tags=["u-100", "walkway"], **ENTRY)
    s.road("u2", g, [
        "rw-u2",
        insp(30, 260, "k-101a", "Recycle H2 compressor K-101A", "compressor"),
        insp(70, 260, "k-101b", "Recycle H2 compressor K-101B", "compressor"),
        insp(100, 260, "r-101-base", "Reactor R-101 bottom flange and valves", "reactor",
             "flange"),
        P(120, 260, "u2-u3"),
        insp(150, 260, "c-101-base", "Stripper column C-101 bottom valves", "column",
             "valve"),
        P(200, 260, "u2-lift"),
        "rc-u2",
    ], every=40, tags=["u-100", "walkway"], **ENTRY)
    s.road("u3", g, [
        "u1-u3",
        insp(120, 215, "e-101", "Feed/effluent exchanger E-101 flanges", "exchanger",
             "flange"),
        insp(120, 238, "e-102", "Product cooler E-102 flanges", "exchanger", "flange"),
        "u2-u3",
    ], every=40, tags=["u-100", "walkway"], **ENTRY)
    s.road("d101", g, [
        "u1-d101", P(215, 212, "d101-jn"),
        insp(215, 228, "d-101-vent", "Sour water drum D-101 vent", "vent", "valve"),
    ], every=40, tags=["u-100"], **STUB)

    s.section("Stairs and lift to the +12 m platform")
    s.node("st-g", 40, 202, g, "landing", "Stair foot (U-100 platform)", ["u-100", "stairs"])
    s.node("st-p", 40, 215, p, "landing", "Stair head (U-100 platform)", ["u-100", "stairs"])
    s.node("lift-g", 200, 272, g, "landing", "Lift L-1 ground", ["u-100", "lift"])
    s.node("lift-p", 200, 272, p, "landing", "Lift L-1 platform", ["u-100", "lift"])
    s.edge("u1-stair", "st-g", **STUB)
    s.edge("u2-lift", "lift-g", **STUB)
    s.edge("st-g", "st-p", kind="ramp", length=20, max_speed=0.3, single_lane=True)
    s.edge("lift-g", "lift-p", kind="lift", length=12, max_speed=0.5, single_lane=True)

    s.section("+12 m platform: reactor top deck, column, air cooler")
    s.road("pl", p, [
        "st-p",
        insp(40, 235, "a-101", "Air cooler A-101 header flanges", "air-cooler", "flange"),
        insp(80, 235, "r-101-inlet", "Reactor R-101 inlet flange", "reactor", "flange"),
        P(120, 235, "pl-03"),
        insp(160, 235, "c-101-top", "Column C-101 overhead valves", "column", "valve"),
        P(200, 235, "pl-05"),
        "lift-p",
    ], every=40, tags=["u-100", "platform"], **ENTRY)
    # the deck widens around the column's overhead: robots on the platform meet there
    s.widen("c-101-top")
    s.road("rt", p, [
        "r-101-inlet", P(80, 250, "rt-stair", name="Ladder to reactor top deck"),
        insp(100, 258, "r-101-top", "Reactor R-101 top flange", "reactor", "flange"),
        insp(120, 258, "r-101-psv", "Reactor R-101 safety valve PSV-101", "reactor",
             "valve", "psv"),
    ], every=40, tags=["u-100", "platform"], **STUB)

    s.section("Tank farm: walkway between bunds B1 and B2, paths inside the bunds")
    sumps: dict[str, float] = {}
    s.road("tf", g, ["pr-tf", P(360, 200, "tf-s"), P(360, 230, "tf-bunds"),
                     P(360, 265, "tf-n"), "rn-tf"], every=40, tags=["tank-farm", "walkway"],
           **ENTRY)
    for b, sx, tanks in (("b1", -1, ("t-101", "t-102")), ("b2", 1, ("t-103", "t-104"))):
        cx = 360 + sx * 55          # tank centres (radius 15 m)
        px = 360 + sx * 22          # path inside the bund, 10 m inside the bund wall
        mx = cx - sx * 21           # valve manifold, 6 m from the tank shell
        sumps[b] = cx + sx * 35     # sump in the far corner of the bund
        low, high = tanks
        s.road(b, g, ["tf-bunds", P(px, 230, f"{b}-ramp"),
                      P(px, 200, f"{b}-s"), P(px, 175, f"{b}-sw"),
                      insp(cx, 175, f"{low}-shell", f"Tank {low.upper()} shell and foundation",
                           "tank"),
                      P(cx + sx * 22, 175, f"{b}-sump-jn"),
                      insp(sumps[b], 175, f"{b}-sump", f"Bund {b.upper()} sump and drain "
                           "valve", "tank", "bund", "valve")],
               every=40, tags=["tank-farm", "bund"], **STUB)
        s.road(b, g, [f"{b}-ramp", P(px, 260, f"{b}-n"), P(px, 282, f"{b}-nw"),
                      insp(cx, 282, f"{high}-shell", f"Tank {high.upper()} shell and "
                           "foundation", "tank")],
               every=40, tags=["tank-farm", "bund"], **STUB)
        for t, y, stop in ((low, 200, f"{b}-s"), (high, 260, f"{b}-n")):
            s.node(f"{t}-mf", mx, y, g, "inspection",
                   f"Tank {t.upper()} valve manifold and level gauge",
                   ["tank", "tank-farm", "valve"])
            s.edge(stop, f"{t}-mf", **STUB)

    s.section("Tank farm transfer pumps (east of bund B2)")
    s.road("tp", g, ["re-pump",
                     insp(466, 200, "p-201a", "Transfer pump P-201A", "pump", "tank-farm"),
                     insp(466, 222, "p-201b", "Transfer pump P-201B", "pump", "tank-farm")],
           every=40, **STUB)
    s.node("chg-02", 497, 280, g, "charger", "Charger 2 (east road)", ["road"])
    s.edge("re-chg", "chg-02", **STUB)

    s.section("Truck loading bay: one-way loop under the loading gantry")
    s.road("lb", g, [
        "rs-lb-in", P(300, 35, "lb-01"), P(300, 70, "lb-02"), P(300, 100, "lb-03"),
        insp(330, 100, "bay-1", "Loading bay 1, arm LA-1", "loading", "valve"),
        insp(360, 100, "bay-2", "Loading bay 2, arm LA-2", "loading", "valve"),
        insp(390, 100, "bay-3", "Loading bay 3, arm LA-3", "loading", "valve"),
        P(420, 100, "lb-04"), P(420, 70, "lb-05"), P(420, 35, "lb-06"), "rs-lb-out",
    ], every=40, tags=["loading"], max_speed=1.5, one_way=True)
    s.node("p-301", 340, 65, g, "inspection", "Loading pump P-301", ["loading", "pump"])
    s.edge("lb-02", "p-301", **STUB)
    s.node("vru-1", 390, 60, g, "inspection", "Vapour recovery unit VRU-1 compressor",
           ["loading", "compressor"])
    s.edge("lb-05", "vru-1", **STUB)
    # a walkway across the pump slab: the pump and the VRU are served without passing
    # under the loading arms (zone 1), whose loop is one-way
    s.edge("p-301", "vru-1", **STUB)

    s.section("Flare knock-out drum (east of the east road)")
    s.node("flare-ko", 515, 60, g, "inspection", "Flare knock-out drum V-801",
           ["flare", "valve"])
    s.edge("re-flare", "flare-ko", **STUB)

    # ---------------------------------------------------------------- zones
    s.zone_section("U-100 hydrotreater")
    s.zone("u100-z2", "gas_hazard", g, rect(8, 158, 232, 292), atex_zone=2, gas="h2s",
           name="U-100 unit")
    s.zone("p101-z1", "gas_hazard", g, rect(60, 182, 110, 198), atex_zone=1, gas="h2s",
           name="Pumps P-101A/B")
    s.zone("p102-z1", "gas_hazard", g, rect(130, 182, 180, 198), atex_zone=1, gas="h2s",
           name="Pumps P-102A/B")
    s.zone("u100-k101", "gas_hazard", g, rect(18, 250, 82, 270), atex_zone=1, gas="h2",
           name="Compressor house K-101")
    s.zone("d101-vent", "gas_hazard", g, rect(209, 222, 221, 234), atex_zone=0, gas="h2s",
           name="D-101 vent")
    s.zone("stair-foot", "restricted", g, rect(34, 196, 46, 208), capability="stairs",
           name="Stairs to the platform")
    s.zone_section("+12 m platform")
    s.zone("plat-z2", "gas_hazard", p, rect(25, 205, 215, 282), atex_zone=2, gas="h2s",
           name="U-100 platform")
    s.zone("psv-z1", "gas_hazard", p, rect(112, 250, 128, 266), atex_zone=1, gas="h2s",
           name="PSV-101 discharge")
    s.zone("reactor-deck", "restricted", p, rect(70, 244, 132, 270), capability="stairs",
           name="Reactor top deck (ladder)")
    s.zone_section("Tank farm")
    s.zone("tf-z2", "gas_hazard", g, rect(250, 158, 470, 295), atex_zone=2, gas="naphtha",
           name="Tank farm")
    s.zone("b1-z1", "gas_hazard", g, rect(262, 165, 348, 290), atex_zone=1, gas="naphtha",
           name="Bund B1")
    s.zone("b2-z1", "gas_hazard", g, rect(372, 165, 458, 290), atex_zone=1, gas="naphtha",
           name="Bund B2")
    for b, x in sumps.items():
        s.zone(f"{b}-sump-z0", "gas_hazard", g, rect(x - 6, 169, x + 6, 181), atex_zone=0,
               gas="naphtha", name=f"Bund {b.upper()} sump")
    for t, cx, cy in (("t-101", 305, 200), ("t-102", 305, 260), ("t-103", 415, 200),
                      ("t-104", 415, 260)):
        s.zone(t, "no_go", g, circle(cx, cy, 15), name=f"Tank {t.upper()}")
    s.zone("tf-dead", "comms_dead", g, rect(352, 195, 368, 265),
           name="5G shadow between the tanks")
    s.zone_section("Loading bay and flare")
    s.zone("lb-z2", "gas_hazard", g, rect(290, 15, 430, 115), atex_zone=2, gas="naphtha",
           name="Loading bay")
    s.zone("lb-arms", "gas_hazard", g, rect(320, 92, 400, 108), atex_zone=1, gas="naphtha",
           name="Loading arms")
    s.zone("lb-slow", "speed_limit", g, rect(286, 10, 434, 112), max_speed=0.8,
           name="Loading bay (trucks)")
    s.zone("flare", "no_go", g, circle(560, 60, 30), name="Flare stack exclusion radius")
    return s


HEADERS = {
    "coal_mine.yaml": """
Qingshan Colliery: sample underground coal mine (fictional), two levels.
Generated by maps/tools/make_samples.py; edit the generator, then rerun it.
Levels: L-350 main level (pit bottom, main haulage/belt/return roads, north wing),
L-420 mining level (district roads, longwall 2201, development heading).
Ids: pb pit bottom, mh main haulage, mb main belt, mr main return, xc/xb crosscuts,
nw north wing, di/dr district intake/return, hg headgate, face, tg tailgate, dev heading.
""",
    "chemical_plant.yaml": """
Haibin Chemical Plant 3: sample chemical industrial zone (fictional).
Generated by maps/tools/make_samples.py; edit the generator, then rerun it.
Levels: G ground, P12 the U-100 process platform (+12 m, stairs and lift).
Ids: rs/rw/rc/re/rn roads, pr pipe-rack walkway, u1-u3 U-100 walkways, pl platform,
tf tank-farm walkway, b1/b2 bund paths, lb loading loop (one-way).
""",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed maps instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for fname, build in (("coal_mine.yaml", coal_mine), ("chemical_plant.yaml",
                                                         chemical_plant)):
        text = build().to_yaml(HEADERS[fname])
        path = MAPS / fname
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(fname)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
