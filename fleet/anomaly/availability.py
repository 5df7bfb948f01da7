"""Robots' availability over a window, derived from what the store records: the mission
events the manager writes (``dispatched``, ``robot_finished``, ``robot_lost``,
``robot_back``, ``robot_cleared``, ``robot_locked_out``, ``order_rejected``, ``charging``,
``charged``...), the missions' ends, and the ``lockouts`` table.

Each second of the window counts once, as the first state of
:data:`fleet.anomaly.shift.STATES` that holds (locked out, lost, charging, busy), else as
idle. What the store does not record is not invented: a robot's loss is recorded only
while it had a round (a robot lost while idle counts as idle), charging only at a round's
charging stop, and a lost spell whose end nobody recorded runs to the window's end,
marked ``open_ended``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from fleet.anomaly.shift import BUSY, CHARGING, LOCKED_OUT, LOST, STATES, RobotAvailability, Span

ROUND_ENDS = frozenset({"robot_finished", "robot_lost", "robot_locked_out", "order_rejected"})
"""Mission events that end the robot's round in that mission."""
CHARGE_ENDS = frozenset({"charged", "charging_ended", "charging_failed",
                         "stop_charging_failed"})
"""Mission events that end a charging stop."""
LOST_ENDS = frozenset({"robot_back", "robot_cleared"})
"""Mission events that end a robot's lost spell (so does its next round)."""
EVENT_KINDS = frozenset({"dispatched", "charging", "robot_lost", *ROUND_ENDS, *CHARGE_ENDS,
                         *LOST_ENDS})
"""Every mission event kind availability reads."""


@dataclass(frozen=True, slots=True)
class Fact:
    """A mission event as availability reads it: ``kind`` at ``at`` in mission
    ``mission_id``, about robot ``serial``."""

    at: datetime
    kind: str
    mission_id: str
    serial: str | None


@dataclass(frozen=True, slots=True)
class Lockout:
    """Robot ``serial`` locked out from ``start`` to ``end`` (None: not reset)."""

    serial: str
    start: datetime
    end: datetime | None
    manufacturer: str | None = None


_MISSION_END = "_mission_ended"


def availability(facts: Iterable[Fact], *, start: datetime, end: datetime,
                 mission_ends: Mapping[str, datetime] | None = None,
                 lockouts: Sequence[Lockout] = (),
                 robots: Mapping[str, str | None] | None = None) -> list[RobotAvailability]:
    """Each robot's availability over ``[start, end)``, sorted by serial: the robots
    named by ``facts`` or ``lockouts``, and those of ``robots`` (serial → manufacturer:
    the fleet the manager knows, idle when nothing else was recorded). ``facts`` may
    begin before ``start`` (a round that began before the window); ``mission_ends`` says
    when each finished mission reached its final status (its rounds end there)."""
    ordered = sorted([*facts, *(Fact(at, _MISSION_END, m, None)
                                for m, at in (mission_ends or {}).items())],
                     key=lambda f: f.at)
    spans = _raw_spans(ordered, end)
    makers = dict(robots or {})
    for lock in lockouts:
        spans.setdefault(lock.serial, []).append(
            Span(LOCKED_OUT, lock.start, lock.end or end, lock.end is None))
        if makers.get(lock.serial) is None:
            makers[lock.serial] = lock.manufacturer
    out = []
    for serial in sorted({*spans, *makers}):
        out.append(_robot(serial, makers.get(serial), spans.get(serial, []), start, end))
    return out


def _raw_spans(facts: Sequence[Fact], end: datetime) -> dict[str, list[Span]]:
    """The recorded spans of each state per robot, overlapping as recorded."""
    spans: dict[str, list[Span]] = {}
    rounds: dict[str, tuple[str, datetime]] = {}  # serial → (mission, since)
    charging: dict[str, datetime] = {}
    lost: dict[str, datetime] = {}

    def close(table: dict[str, datetime], serial: str, state: str, at: datetime) -> None:
        since = table.pop(serial, None)
        if since is not None:
            spans.setdefault(serial, []).append(Span(state, since, at))

    def end_round(serial: str, at: datetime) -> None:
        held = rounds.pop(serial, None)
        if held is not None:
            spans.setdefault(serial, []).append(Span(BUSY, held[1], at))
        close(charging, serial, CHARGING, at)

    for f in facts:
        if f.kind == _MISSION_END:
            for held_by in [s for s, (m, _) in rounds.items() if m == f.mission_id]:
                end_round(held_by, f.at)
            continue
        if f.serial is None:
            continue
        serial = f.serial
        spans.setdefault(serial, [])
        if f.kind == "dispatched":
            end_round(serial, f.at)
            close(lost, serial, LOST, f.at)
            rounds[serial] = (f.mission_id, f.at)
        elif f.kind in ROUND_ENDS:
            held = rounds.get(serial)
            if held is not None and held[0] == f.mission_id:
                end_round(serial, f.at)
            if f.kind == "robot_lost":
                lost.setdefault(serial, f.at)
        elif f.kind == "charging":
            charging.setdefault(serial, f.at)
        elif f.kind in CHARGE_ENDS:
            close(charging, serial, CHARGING, f.at)
        elif f.kind in LOST_ENDS:
            close(lost, serial, LOST, f.at)
    for table, state in ((charging, CHARGING), (lost, LOST)):
        for serial, since in table.items():
            spans.setdefault(serial, []).append(Span(state, since, end, open_ended=True))
    for serial, (_, since) in rounds.items():
        # a round still going when the record ends: its mission runs, nothing is missing
        spans.setdefault(serial, []).append(Span(BUSY, since, end))
    return spans


def _robot(serial: str, manufacturer: str | None, raw: Sequence[Span], start: datetime,
           end: datetime) -> RobotAvailability:
    """One robot's exclusive spans over ``[start, end)`` and the seconds of each state (a
    sweep over the spans' ends: the first of :data:`STATES` held wins each stretch)."""
    marks: list[tuple[datetime, int, str, bool]] = []
    for s in raw:
        a, b = max(s.start, start), min(s.end, end)
        if a < b:
            open_ended = s.open_ended and s.end >= end
            marks += [(a, 1, s.state, open_ended), (b, -1, s.state, open_ended)]
    marks.sort(key=lambda m: m[0])
    held = dict.fromkeys(STATES, 0)
    held_open = dict.fromkeys(STATES, 0)
    merged: list[Span] = []
    i = 0
    while i < len(marks):
        at = marks[i][0]
        while i < len(marks) and marks[i][0] == at:
            _, step, state, open_ended = marks[i]
            held[state] += step
            held_open[state] += step if open_ended else 0
            i += 1
        if i == len(marks):
            break
        until = marks[i][0]
        first = next((st for st in STATES if held[st] > 0), None)
        if first is None:
            continue
        open_ended = held_open[first] > 0 and until == end
        if merged and merged[-1].state == first and merged[-1].end == at:
            merged[-1] = Span(first, merged[-1].start, until, open_ended)
        else:
            merged.append(Span(first, at, until, open_ended))
    seconds = dict.fromkeys(STATES, 0.0)
    for span in merged:
        seconds[span.state] += (span.end - span.start).total_seconds()
    total = max(0.0, (end - start).total_seconds())
    return RobotAvailability(
        serial=serial, manufacturer=manufacturer, busy_s=seconds[BUSY],
        charging_s=seconds[CHARGING], lost_s=seconds[LOST], locked_out_s=seconds[LOCKED_OUT],
        idle_s=max(0.0, total - sum(seconds.values())), spans=tuple(merged))
