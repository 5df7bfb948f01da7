"""The shift report's time pieces: times in the reader's zone and UTC, durations, and the
availability timeline's hour marks in local time across a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleet.anomaly.shift import BUSY, RobotAvailability, Span
from fleet.anomaly.timeline import Times, duration, ticks, timeline
from fleet.recurrence import zone

BERLIN = zone("Europe/Berlin")


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59.6, "1m"), (90, "1m"), (3600, "1h"), (27000, "7h 30m"),
    (2 * 86400 + 8 * 3600 + 60, "2d 8h")])
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_times_in_the_zone_and_in_utc() -> None:
    t = Times(BERLIN)
    summer = datetime(2027, 7, 1, 22, 30, tzinfo=UTC)
    assert t.both(summer) == "2027-07-02 00:30:00 CEST (2027-07-01 22:30:00 UTC)"
    assert t.local(summer) == "2027-07-02 00:30 CEST"
    assert Times(UTC).both(summer) == "2027-07-01 22:30:00 UTC"
    assert t.both(None) == "—"


def test_hour_marks_follow_local_time_across_the_change() -> None:
    # the night the clocks go back in Berlin: 22:00 CEST to 05:00 CET is 8 hours
    start = datetime(2027, 10, 30, 20, 0, tzinfo=UTC)
    marks = ticks(start, start + timedelta(hours=8), Times(BERLIN))
    local = [f"{m.astimezone(BERLIN):%H:%M}" for m in marks]
    assert local == ["22:00", "23:00", "00:00", "01:00", "02:00", "02:00", "03:00",
                     "04:00", "05:00"]


def test_the_timeline_is_one_bar_per_robot() -> None:
    start = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    end = start + timedelta(hours=8)
    robots = [RobotAvailability("r1", "acme", busy_s=3600, idle_s=25200, spans=(
        Span(BUSY, start, start + timedelta(hours=1)),)), RobotAvailability("r2<")]
    svg = timeline(robots, start, end, Times(BERLIN))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "acme/r1" in svg and "r2&lt;" in svg and "08:00" in svg
    assert svg.count('fill="#1565c0"') == 1
