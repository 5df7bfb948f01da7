"""Robots' availability from a known sequence of mission events and lockouts: each
second counted once (locked out, lost, charging, busy, else idle), clipped to the window,
open-ended spells marked."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.anomaly.availability import Fact, Lockout, availability
from fleet.anomaly.shift import BUSY, CHARGING, LOCKED_OUT, LOST, Span

T0 = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)  # 08:00 in Europe/Berlin


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fact(minutes: float, kind: str, serial: str | None = "r1", mission: str = "m1") -> Fact:
    return Fact(at(minutes), kind, mission, serial)


def test_a_round_with_a_charging_stop_a_loss_and_a_lockout() -> None:
    facts = [
        fact(-30, "dispatched"),          # a round that began before the shift
        fact(20, "charging"), fact(50, "charged"),
        fact(90, "robot_finished"),
        fact(120, "dispatched", mission="m2"),
        fact(150, "robot_lost", mission="m2"),
        fact(200, "robot_back", mission="m2"),
        fact(240, "dispatched", mission="m2"),
        fact(260, "robot_locked_out", mission="m2"),
    ]
    lock = Lockout("r1", at(260), at(330), manufacturer="acme")
    [r1] = availability(facts, start=T0, end=at(480), lockouts=[lock])
    assert r1.manufacturer == "acme"
    # busy 0-20, 50-90, 120-150, 240-260 = 20 + 40 + 30 + 20 minutes
    assert r1.busy_s == pytest.approx(110 * 60)
    assert r1.charging_s == pytest.approx(30 * 60)
    assert r1.lost_s == pytest.approx(50 * 60)
    assert r1.locked_out_s == pytest.approx(70 * 60)
    assert r1.idle_s == pytest.approx((480 - 260) * 60)
    assert [(s.state, s.start, s.end) for s in r1.spans] == [
        (BUSY, at(0), at(20)), (CHARGING, at(20), at(50)), (BUSY, at(50), at(90)),
        (BUSY, at(120), at(150)), (LOST, at(150), at(200)), (BUSY, at(240), at(260)),
        (LOCKED_OUT, at(260), at(330))]
    assert not any(s.open_ended for s in r1.spans)


def test_every_second_counts_once_and_the_first_state_wins() -> None:
    # lost while a lockout holds: the lockout counts; charging inside a round: charging
    facts = [fact(0, "dispatched"), fact(10, "charging"), fact(30, "robot_lost"),
             fact(40, "robot_cleared")]
    [r1] = availability(facts, start=T0, end=at(60),
                        lockouts=[Lockout("r1", at(35), at(45))])
    assert (r1.busy_s, r1.charging_s, r1.lost_s, r1.locked_out_s, r1.idle_s) == (
        600.0, 1200.0, 300.0, 600.0, 900.0)
    assert r1.busy_s + r1.charging_s + r1.lost_s + r1.locked_out_s + r1.idle_s == 3600


def test_a_mission_that_ends_ends_its_rounds_and_charging() -> None:
    facts = [fact(0, "dispatched"), fact(5, "charging")]
    [r1] = availability(facts, start=T0, end=at(60), mission_ends={"m1": at(15)})
    assert (r1.busy_s, r1.charging_s, r1.idle_s) == (300.0, 600.0, 2700.0)


def test_a_round_of_another_mission_does_not_end_this_one() -> None:
    facts = [fact(0, "dispatched"), fact(10, "robot_finished", mission="other")]
    [r1] = availability(facts, start=T0, end=at(60))
    assert r1.busy_s == 3600.0


def test_a_loss_nobody_ended_runs_to_the_end_marked_open() -> None:
    facts = [fact(0, "dispatched"), fact(10, "robot_lost")]
    [r1] = availability(facts, start=T0, end=at(60), mission_ends={"m1": at(20)})
    assert (r1.busy_s, r1.lost_s) == (600.0, 3000.0)
    assert r1.spans[-1] == Span(LOST, at(10), at(60), open_ended=True)


def test_the_next_round_ends_a_loss() -> None:
    facts = [fact(0, "dispatched"), fact(10, "robot_lost"),
             fact(30, "dispatched", mission="m2")]
    [r1] = availability(facts, start=T0, end=at(60))
    assert (r1.busy_s, r1.lost_s) == (600.0 + 1800.0, 1200.0)


def test_robots_known_without_records_are_idle_and_sorted() -> None:
    facts = [fact(0, "dispatched", serial="r2"), fact(10, "launched", serial=None)]
    robots = availability(facts, start=T0, end=at(60), robots={"r1": "acme", "r3": None})
    assert [r.serial for r in robots] == ["r1", "r2", "r3"]
    assert robots[0].idle_s == 3600.0 and robots[0].spans == ()
    assert robots[1].busy_s == 3600.0


def test_an_open_lockout_from_before_the_window_is_clipped() -> None:
    [r1] = availability([], start=T0, end=at(60),
                        lockouts=[Lockout("r1", at(-600), None, "acme")])
    assert r1.locked_out_s == 3600.0
    assert r1.spans == (Span(LOCKED_OUT, T0, at(60), open_ended=True),)


def test_an_empty_window_has_no_time() -> None:
    [r1] = availability([fact(0, "dispatched")], start=T0, end=T0)
    assert (r1.busy_s, r1.idle_s, r1.spans) == (0.0, 0.0, ())


KINDS = ["dispatched", "robot_finished", "robot_lost", "robot_back", "robot_cleared",
         "robot_locked_out", "order_rejected", "charging", "charged", "charging_ended"]


@given(st.lists(st.tuples(st.integers(-60, 300), st.sampled_from(KINDS),
                          st.sampled_from(["r1", "r2"]), st.sampled_from(["m1", "m2"])),
                max_size=40),
       st.lists(st.tuples(st.sampled_from(["r1", "r2"]), st.integers(-60, 300),
                          st.one_of(st.none(), st.integers(0, 120))), max_size=3),
       st.dictionaries(st.sampled_from(["m1", "m2"]), st.integers(-60, 300)))
def test_every_second_of_the_window_is_counted_exactly_once(
        events: list[tuple[int, str, str, str]], locks: list[tuple[str, int, int | None]],
        ends: dict[str, int]) -> None:
    facts = [fact(m, kind, serial, mission) for m, kind, serial, mission in events]
    lockouts = [Lockout(s, at(m), None if d is None else at(m + d)) for s, m, d in locks]
    robots = availability(facts, start=T0, end=at(240), lockouts=lockouts,
                          mission_ends={k: at(v) for k, v in ends.items()})
    for r in robots:
        total = r.busy_s + r.charging_s + r.lost_s + r.locked_out_s + r.idle_s
        assert total == pytest.approx(240 * 60)
        assert all(T0 <= s.start < s.end <= at(240) for s in r.spans)
        assert all(a.end <= b.start for a, b in itertools.pairwise(r.spans))
        assert sum((s.end - s.start).total_seconds() for s in r.spans) == \
            pytest.approx(total - r.idle_s)
