"""The per-distro type stores: what rosbags has plus the vendored and generated types."""

from __future__ import annotations

from typing import Any

import pytest
from rosbags.interfaces import Nodetype

from fleet.ros2.interfaces import ACTIONS, SERVICES, Distro, action_types, kind_of, typestore


def _references(desc: Any) -> list[str]:
    kind, rest = desc
    if kind == Nodetype.NAME:
        return [rest]
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return _references(rest[0])
    return []


@pytest.mark.parametrize("distro", list(Distro))
def test_every_reference_resolves(distro: Distro) -> None:
    names = typestore(distro).fielddefs
    missing = {
        (owner, ref)
        for owner, (_, fields) in names.items()
        for _, desc in fields
        for ref in _references(desc)
        if ref not in names
    }
    assert not missing


@pytest.mark.parametrize("distro", list(Distro))
def test_generated_parts(distro: Distro) -> None:
    names = typestore(distro).fielddefs
    for action in ACTIONS:
        assert kind_of(distro, action) == "action"
        for part in ("Goal", "Result", "Feedback", "SendGoal_Request", "SendGoal_Response",
                     "GetResult_Request", "GetResult_Response", "FeedbackMessage"):
            assert f"{action}_{part}" in names
        assert kind_of(distro, f"{action}_SendGoal") == "service"
        request = names[f"{action}_SendGoal_Request"][1]
        assert request == [("goal_id", (Nodetype.NAME, "unique_identifier_msgs/msg/UUID")),
                           ("goal", (Nodetype.NAME, f"{action}_Goal"))]
    for service in SERVICES:
        assert kind_of(distro, service) == "service"
        assert (f"{service}_Event" in names) is (distro is not Distro.HUMBLE)


def test_kilted_waypoint_status_is_a_nav2_message() -> None:
    feedback = typestore("kilted").fielddefs["nav2_msgs/action/NavigateThroughPoses_Feedback"]
    assert ("waypoint_statuses", (Nodetype.SEQUENCE, (
        (Nodetype.NAME, "nav2_msgs/msg/WaypointStatus"), 0))) in feedback[1]


def test_same_store_each_time_and_bad_input() -> None:
    assert typestore("jazzy") is typestore(Distro.JAZZY)
    with pytest.raises(ValueError):
        typestore("rolling")
    with pytest.raises(KeyError):
        kind_of("jazzy", "nav2_msgs/action/Nothing")
    with pytest.raises(ValueError, match="3 sections"):
        action_types("p/action/A", "int8 a\n---\nint8 b\n")
