"""When a schedule runs: :class:`Recurrence`, a cron expression or an interval in an IANA
time zone, with blackout windows and a start and an end (docs/schedules.md).

**The daylight-saving rule.** A cron expression names wall-clock times in the schedule's
zone. Each wall-clock time it names runs once:

- a time that does not exist on a day (the clocks jump forward over it) runs at the first
  instant after the jump (Europe/Berlin, 2027-03-28: ``30 2 * * *`` runs at 03:00 CEST,
  01:00 UTC); several such times of one jump run once;
- a time that occurs twice (the clocks fall back) runs at its first occurrence only
  (Europe/Berlin, 2027-10-31: ``30 2 * * *`` runs at 02:30 CEST, 00:30 UTC, and not again
  at 02:30 CET);
- ``--every`` intervals are elapsed time from the schedule's anchor (its ``--start``, else
  its creation): a change of the clocks does not move them.

Cron expressions are parsed and matched by `cronsim <https://github.com/cuu508/cronsim>`_
(Healthchecks.io's cron engine: small, typed, no dependencies, maintained, and the one a
monitoring service tests against Debian cron every day), on *naive* wall-clock times, so
that it only matches calendars; the mapping of a wall-clock time to an instant (the rule
above) is :func:`instant_of`, on :mod:`zoneinfo`. croniter, the other candidate, was
declared unmaintained by its author in 2024 and converts through timestamps, which loses
the wall-clock time across a change (croniter issue 82).

Every instant this module takes or returns is a timezone-aware :class:`~datetime.datetime`;
it returns them in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from fleet.errors import ScheduleError

MIN_EVERY_S = 60.0
"""The shortest ``--every`` interval (a round shorter than a minute is not a schedule)."""

_BLACKOUT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str, what: str = "interval") -> float:
    """Seconds in ``text``: ``90s``, ``20m``, ``2h``, ``1h30m``, ``1d`` (units d, h, m, s,
    in any order, each once at most) or a plain number of seconds. ScheduleError names
    ``what`` otherwise."""
    raw = text.strip()
    try:
        value = float(raw)
    except ValueError:
        parts = _DURATION.findall(raw)
        units = [u.lower() for _, u in parts]
        if not parts or "".join(n + u for n, u in parts).lower() != raw.replace(" ", "").lower() \
                or len(set(units)) != len(units):
            raise ScheduleError(f"{what} {text!r} is not a duration (like 90s, 20m, 2h, "
                                "1h30m)") from None
        value = sum(float(n) * _UNITS[u.lower()] for n, u in parts)
    if not value > 0 or value == float("inf"):
        raise ScheduleError(f"{what} {text!r} must be a positive duration")
    return value


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``, ``UTC``); ScheduleError when unknown."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"unknown time zone {name!r} (an IANA name such as "
                            "Europe/Berlin or America/New_York)") from None


def aware(moment: datetime, what: str = "time") -> datetime:
    """``moment`` in UTC; ScheduleError when it has no offset (ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ScheduleError(f"{what} {moment.isoformat()} needs an offset (like "
                            "2027-03-28T08:00+02:00 or ...Z)")
    return moment.astimezone(UTC)


def parse_instant(text: str, what: str) -> datetime:
    """An ISO 8601 time with an offset (``2027-03-28T08:00+02:00``, ``...Z``), in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(f"{what} {text!r} is not an ISO 8601 time") from None
    return aware(moment, what)


def instant_of(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant (UTC) at which the naive wall-clock time ``wall`` comes in ``tz``, by the
    rule in the module docstring: its first occurrence, or the end of the jump that skips
    it."""
    first = wall.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == wall:
        return utc
    # A gap: fold=0 reads ``wall`` with the offset before the jump, fold=1 with the one
    # after; the jump lies between the two readings. Find its instant to the second.
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = utc
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


@dataclass(frozen=True)
class Blackout:
    """A daily window of wall-clock time (``start`` inclusive, ``end`` exclusive) in which
    no run starts; ``end`` before ``start`` spans midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Blackout:
        """``"HH:MM-HH:MM"``; ScheduleError otherwise (or for an empty window)."""
        m = _BLACKOUT.match(text)
        if m is None:
            raise ScheduleError(f"blackout {text!r} is not a time range HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ScheduleError(f"blackout {text!r} is not a time range HH:MM-HH:MM")
        start, end = time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
        if start == end:
            raise ScheduleError(f"blackout {text!r} is an empty window")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def end_of(self, wall: datetime) -> datetime | None:
        """When the window holding the naive wall-clock time ``wall`` ends (naive wall
        time), or None when ``wall`` is outside the window."""
        t = wall.time()
        if self.start < self.end:
            inside, day = self.start <= t < self.end, wall.date()
        else:  # over midnight: from start to 24:00, and from 00:00 to end
            inside = t >= self.start or t < self.end
            day = wall.date() + timedelta(days=1) if t >= self.start else wall.date()
        if not inside:
            return None
        return datetime.combine(day, self.end)


@dataclass(frozen=True)
class Recurrence:
    """When a schedule runs: ``cron`` (a 5-field expression) or ``every_s`` (seconds of
    elapsed time from ``anchor``), in zone ``tz``, not before ``start`` nor after
    ``until``, never starting inside a ``blackouts`` window. Build one with
    :meth:`parse`, which checks everything and raises ScheduleError with one line."""

    tz: str
    cron: str | None = None
    every_s: float | None = None
    anchor: datetime | None = None
    start: datetime | None = None
    until: datetime | None = None
    blackouts: tuple[Blackout, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone(self.tz))
        if (self.cron is None) == (self.every_s is None):
            raise ScheduleError("a schedule needs either a cron expression or an interval")
        if self.cron is not None:
            try:
                CronSim(self.cron, datetime(2000, 1, 1))
            except (CronSimError, ValueError) as exc:
                raise ScheduleError(f"cron expression {self.cron!r}: {exc}") from None
            if len(self.cron.split()) != 5:
                raise ScheduleError(f"cron expression {self.cron!r} must have 5 fields "
                                    "(minute hour day-of-month month day-of-week)")
        if self.every_s is not None and self.every_s < MIN_EVERY_S:
            raise ScheduleError(f"interval of {self.every_s:g} s is shorter than "
                                f"{MIN_EVERY_S:g} s")
        if self.every_s is not None and self.anchor is None:
            raise ScheduleError("an interval schedule needs an anchor")
        if self.start is not None and self.until is not None and self.until <= self.start:
            raise ScheduleError("--until must come after --start")

    @classmethod
    def parse(cls, *, tz: str, cron: str | None = None, every: str | None = None,
              blackouts: Sequence[str] = (), start: str | None = None,
              until: str | None = None, created: datetime) -> Recurrence:
        """A recurrence from its textual parts (as the CLI and the API take them);
        ``created`` anchors an interval without ``start``."""
        if (cron is None) == (every is None):
            raise ScheduleError("give either --cron EXPR or --every DURATION")
        begin = None if start is None else parse_instant(start, "--start")
        return cls(tz=tz, cron=None if cron is None else " ".join(cron.split()),
                   every_s=None if every is None else parse_duration(every, "--every"),
                   anchor=None if every is None else (begin or aware(created)),
                   start=begin,
                   until=None if until is None else parse_instant(until, "--until"),
                   blackouts=tuple(Blackout.parse(b) for b in blackouts))

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's zone."""
        return self._zone

    def describe(self) -> str:
        """One line: ``cron 30 2 * * * (Europe/Berlin)`` or ``every 20m (UTC)``."""
        what = f"cron {self.cron}" if self.cron is not None else \
            f"every {_format_duration(self.every_s or 0.0)}"
        return f"{what} ({self.tz})" + "".join(f", blackout {b}" for b in self.blackouts)

    # -- runs -------------------------------------------------------------------------------
    def due_after(self, after: datetime) -> datetime | None:
        """The first nominal run strictly after ``after`` (before blackouts move it); None
        when there is none before ``until``."""
        return next(self._nominal(after), None)

    def runs(self, after: datetime, count: int) -> list[tuple[datetime, datetime]]:
        """The next ``count`` runs after ``after``: (nominal instant, instant it starts
        at once blackouts moved it), both UTC; fewer when ``until`` comes first. Runs that
        a blackout moves onto the same instant start once."""
        out: list[tuple[datetime, datetime]] = []
        for due in self._nominal(after):
            if len(out) >= count:
                break
            at = self.shifted(due)
            if out and at <= out[-1][1]:
                continue
            out.append((due, at))
        return out

    def shifted(self, due: datetime) -> datetime:
        """Where ``due`` starts: at the end of the blackout window it falls in (a chain of
        windows followed to the end), else itself."""
        at = due
        for _ in range(len(self.blackouts) + 1):
            wall = at.astimezone(self._zone).replace(tzinfo=None)
            ends = [e for b in self.blackouts if (e := b.end_of(wall)) is not None]
            if not ends:
                return at
            at = max(at, instant_of(max(ends), self._zone))
        return at

    def _nominal(self, after: datetime) -> Iterator[datetime]:
        after = aware(after)
        if self.start is not None and after < self.start:
            after = self.start - timedelta(microseconds=1)
        for due in (self._cron_after(after) if self.cron is not None
                    else self._every_after(after)):
            if self.until is not None and due > self.until:
                return
            yield due

    def _cron_after(self, after: datetime) -> Iterator[datetime]:
        assert self.cron is not None
        tz = self._zone
        # Matching from ``after``'s own wall time misses nothing: a wall time before it
        # comes before ``after`` (its first occurrence, or a jump that is behind us too).
        # Later wall times of a fall-back hour map to instants already past, and several
        # times in one gap to one instant: both dropped by keeping the instants increasing.
        last = after
        for w in CronSim(self.cron, after.astimezone(tz).replace(tzinfo=None)):
            at = instant_of(w, tz)
            if at > last:
                last = at
                yield at

    def _every_after(self, after: datetime) -> Iterator[datetime]:
        assert self.every_s is not None and self.anchor is not None
        step = timedelta(seconds=self.every_s)
        n = max(0, int((after - self.anchor) / step))
        at = self.anchor + n * step
        while True:
            if at > after:
                yield at
            n += 1
            at = self.anchor + n * step


def _format_duration(seconds: float) -> str:
    out, rest = [], seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if rest >= size:
            n = int(rest // size)
            out.append(f"{n}{unit}")
            rest -= n * size
    if rest or not out:
        out.append(f"{rest:g}s")
    return "".join(out)
