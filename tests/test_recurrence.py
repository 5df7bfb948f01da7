"""Recurrence: cron in a zone with the daylight-saving rule, intervals, blackouts, start and
until. Expected instants are computed independently here, with zoneinfo and by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fleet.errors import ScheduleError
from fleet.recurrence import Blackout, Recurrence, instant_of, parse_duration

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 7, tzinfo=UTC)


def starts(rule: Recurrence, after: datetime, count: int) -> list[datetime]:
    return [start for _, start in rule.runs(after, count)]


def local(tz: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    """The instant of a local wall time that exists (checked), in UTC."""
    moment = datetime(*parts, tzinfo=tz, fold=fold)  # type: ignore[misc]
    assert moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == moment.replace(
        tzinfo=None), f"{moment} does not exist"
    return moment.astimezone(UTC)


def test_berlin_02_30_across_the_spring_jump_runs_once_at_the_end_of_the_jump() -> None:
    rule = Recurrence.parse(tz="Europe/Berlin", cron="30 2 * * *", created=T0)
    got = starts(rule, local(BERLIN, 2027, 3, 26, 12), 4)
    # 2027-03-28: clocks jump from 02:00 CET to 03:00 CEST; 02:30 does not exist
    jump = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert jump.astimezone(BERLIN).hour == 3
    assert (jump - timedelta(seconds=1)).astimezone(BERLIN).hour == 1
    assert got == [local(BERLIN, 2027, 3, 27, 2, 30), jump,
                   local(BERLIN, 2027, 3, 29, 2, 30), local(BERLIN, 2027, 3, 30, 2, 30)]


def test_berlin_02_30_across_the_autumn_fall_back_runs_once_at_its_first_occurrence() -> None:
    rule = Recurrence.parse(tz="Europe/Berlin", cron="30 2 * * *", created=T0)
    got = starts(rule, local(BERLIN, 2027, 10, 30, 12), 3)
    first = datetime(2027, 10, 31, 2, 30, tzinfo=BERLIN, fold=0).astimezone(UTC)
    second = datetime(2027, 10, 31, 2, 30, tzinfo=BERLIN, fold=1).astimezone(UTC)
    assert second - first == timedelta(hours=1)  # the wall time occurs twice
    assert got == [first, local(BERLIN, 2027, 11, 1, 2, 30), local(BERLIN, 2027, 11, 2, 2, 30)]
    # asked from between the two occurrences, the second is not a run
    assert starts(rule, first + timedelta(minutes=1), 1) == [local(BERLIN, 2027, 11, 1, 2, 30)]


@pytest.mark.parametrize(("after", "days"), [
    (datetime(2027, 3, 11, 12), [12, 15, 16]),  # DST starts Sunday 2027-03-14
    (datetime(2027, 11, 4, 12), [5, 8, 9]),     # DST ends Sunday 2027-11-07
])
def test_new_york_weekdays_at_8_keep_8_local_across_both_changes(
        after: datetime, days: list[int]) -> None:
    rule = Recurrence.parse(tz="America/New_York", cron="0 8 * * 1-5", created=T0)
    got = starts(rule, after.replace(tzinfo=NEW_YORK), 3)
    assert got == [local(NEW_YORK, after.year, after.month, d, 8) for d in days]
    offsets = {g.astimezone(NEW_YORK).utcoffset() for g in got}
    assert len(offsets) == 2  # the UTC instant moves by an hour; local 08:00 does not


def test_shanghai_at_8_and_16_is_midnight_and_8_utc_every_day() -> None:
    rule = Recurrence.parse(tz="Asia/Shanghai", cron="0 8,16 * * *", created=T0)
    got = starts(rule, datetime(2027, 3, 1, tzinfo=UTC), 60)
    assert len(got) == 60
    assert {(g.hour, g.minute) for g in got} == {(0, 0), (8, 0)}
    assert all(b - a == timedelta(hours=8 if a.hour == 0 else 16)
               for a, b in itertools.pairwise(got))


def test_hourly_cron_in_the_fall_back_hour_runs_once_per_wall_time() -> None:
    rule = Recurrence.parse(tz="Europe/Berlin", cron="0 * * * *", created=T0)
    got = starts(rule, local(BERLIN, 2027, 10, 31, 0, 30), 4)
    walls = [g.astimezone(BERLIN).strftime("%H:%M%z") for g in got]
    assert walls == ["01:00+0200", "02:00+0200", "03:00+0100", "04:00+0100"]


def test_several_times_in_one_gap_run_once() -> None:
    rule = Recurrence.parse(tz="Europe/Berlin", cron="*/20 2 * * *", created=T0)
    got = starts(rule, local(BERLIN, 2027, 3, 27, 23), 4)
    assert got[0] == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert got[1] == local(BERLIN, 2027, 3, 29, 2, 0)


def test_intervals_are_elapsed_time_across_a_change() -> None:
    anchor = local(BERLIN, 2027, 10, 30, 22, 0)
    rule = Recurrence.parse(tz="Europe/Berlin", every="2h",
                            start=anchor.isoformat(), created=T0)
    got = starts(rule, anchor - timedelta(seconds=1), 4)
    assert got == [anchor + timedelta(hours=2 * i) for i in range(4)]
    walls = [g.astimezone(BERLIN).strftime("%H:%M") for g in got]
    # 02:00 CEST, then two hours later 03:00 CET: an hour of wall time, two elapsed
    assert walls == ["22:00", "00:00", "02:00", "03:00"]


def test_a_blackout_moves_a_run_to_its_end_and_runs_moved_together_start_once() -> None:
    rule = Recurrence.parse(tz="Europe/Berlin", cron="*/30 * * * *",
                            blackouts=["23:50-00:40"], created=T0)
    runs = rule.runs(local(BERLIN, 2027, 1, 10, 23, 15), 4)
    assert [(d.astimezone(BERLIN).strftime("%H:%M"), s.astimezone(BERLIN).strftime("%H:%M"))
            for d, s in runs] == [("23:30", "23:30"), ("00:00", "00:40"), ("01:00", "01:00"),
                                  ("01:30", "01:30")]


def test_start_and_until_bound_the_runs() -> None:
    rule = Recurrence.parse(tz="UTC", cron="0 * * * *", start="2027-01-01T10:00+00:00",
                            until="2027-01-01T12:00Z", created=T0)
    got = starts(rule, T0, 10)
    assert [g.hour for g in got] == [10, 11, 12]
    assert rule.due_after(got[-1]) is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cron": "61 * * * *"}, "cron expression '61 * * * *'"),
    ({"cron": "* * * *"}, "cron expression"),
    ({"cron": "0 8 * * * *"}, "must have 5 fields"),
    ({"cron": "0 8 * * *", "tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"every": "ten minutes"}, "not a duration"),
    ({"every": "30s"}, "shorter than 60 s"),
    ({"cron": "0 8 * * *", "every": "1h"}, "either"),
    ({}, "either"),
    ({"cron": "0 8 * * *", "blackouts": ["22:00"]}, "blackout '22:00' is not a time range"),
    ({"cron": "0 8 * * *", "blackouts": ["25:00-26:00"]}, "not a time range"),
    ({"cron": "0 8 * * *", "start": "2027-01-01T08:00"}, "needs an offset"),
    ({"cron": "0 8 * * *", "until": "tomorrow"}, "not an ISO 8601 time"),
    ({"cron": "0 8 * * *", "start": "2027-01-02T00:00Z", "until": "2027-01-01T00:00Z"},
     "--until must come after --start"),
])
def test_bad_rules_are_one_line_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"tz": "UTC", "created": T0, **kwargs}
    with pytest.raises(ScheduleError) as info:
        Recurrence.parse(**args)  # type: ignore[arg-type]
    assert message in str(info.value) and "\n" not in str(info.value)


def test_durations_and_blackouts_parse() -> None:
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90
    assert parse_duration("2h") == 7200 and parse_duration("600") == 600
    with pytest.raises(ScheduleError):
        parse_duration("1h1h")
    assert str(Blackout.parse("22:00-02:00")) == "22:00-02:00"
    over = Blackout.parse("22:00-02:00")
    assert over.end_of(datetime(2027, 1, 1, 23, 0)) == datetime(2027, 1, 2, 2, 0)
    assert over.end_of(datetime(2027, 1, 2, 1, 0)) == datetime(2027, 1, 2, 2, 0)
    assert over.end_of(datetime(2027, 1, 2, 2, 0)) is None


def test_a_wall_time_in_a_gap_maps_to_the_jump_instant() -> None:
    assert instant_of(datetime(2027, 3, 14, 2, 15), NEW_YORK) == datetime(
        2027, 3, 14, 7, 0, tzinfo=UTC)  # 03:00 EDT
