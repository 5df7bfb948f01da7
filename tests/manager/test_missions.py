"""A mission's record of its robots' rounds."""

from __future__ import annotations

from fleet.manager.missions import MissionRun

from .test_charging_stops import HEADER, _assignment, _mission, _state


def test_a_second_assignment_keeps_the_route_driven_for_the_first() -> None:
    first = _assignment()
    first.first_order(HEADER)
    first.on_state(_state(first, 3, 90.0))
    run = MissionRun(first.mission_id, "scenario", _mission())
    run.assign(first)
    driven = first.driven()
    assert driven == [s.node_id for s in first.stops[:4]]
    second = _assignment()  # the same robot, back from its round, takes over more work
    run.assign(second)
    assert run.assignments[first.serial] is second
    assert run.driven_before[first.serial] == driven
    assert run.snapshot()["driven_before"] == {first.serial: driven}  # persisted
