"""The closure check of the demo and the lockout scenario (sim/closure_watch.py) on
hand-made states: what counts as inside a closure while it is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleet import samples
from fleet.facility import formats
from sim.closure_watch import ClosedArea, Seen, intrusions

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
AREA = ClosedArea(1, frozenset({"face-09", "face-10", "tg-uc"}), T0,
                  T0 + timedelta(seconds=600))


def at(seconds: float, serial: str = "CR-01", node: str = "face-05",
       xy: tuple[float, float] | None = None, locked: bool = False) -> Seen:
    return Seen(T0 + timedelta(seconds=seconds), serial, node,
                None if xy is None else xy[0], None if xy is None else xy[1], locked)


@pytest.mark.parametrize(("state", "inside"), [
    (at(10, node="face-10"), True),                            # at a closed node
    (at(10, node="face-08", xy=(1990.0, 600.0)), True),        # between face-09 and face-10
    (at(10, node="face-08", xy=(1960.0, 600.0)), False),       # at face-08: outside
    (at(-1, node="face-10"), False),                           # before the closing
    (at(601, node="face-10"), False),                          # after the reopening
    (at(10, serial="IS-01", node="face-10"), False),           # rated: not counted
    (at(10, node="face-10", locked=True), False),              # powered off where it stopped
])
def test_a_state_is_inside_an_open_closure(state: Seen, inside: bool) -> None:
    fac = formats.load(samples.path("coal-mine"))
    found = intrusions([state], [AREA], fac, {"CR-01"})
    assert bool(found) is inside
    if inside:
        assert "CR-01" in found[0] and "C-1" in found[0]


def test_a_closure_still_open_counts_to_the_end() -> None:
    fac = formats.load(samples.path("coal-mine"))
    still = ClosedArea(2, AREA.nodes, T0, None)
    assert intrusions([at(10_000, node="tg-uc")], [still], fac, {"CR-01"})
