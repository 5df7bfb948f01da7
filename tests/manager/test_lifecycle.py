"""Mission transitions: allowed moves, forbidden moves, terminal states."""

from __future__ import annotations

import pytest

from fleet.manager.lifecycle import MissionStatus, TransitionError, check_transition

S = MissionStatus


@pytest.mark.parametrize(("a", "b"), [
    (S.QUEUED, S.DISPATCHED), (S.DISPATCHED, S.RUNNING), (S.RUNNING, S.PAUSED),
    (S.PAUSED, S.RUNNING), (S.RUNNING, S.COMPLETED), (S.RUNNING, S.PARTIALLY_COMPLETED),
    (S.RUNNING, S.ABORTED), (S.QUEUED, S.FAILED), (S.RUNNING, S.RUNNING),
])
def test_allowed(a: MissionStatus, b: MissionStatus) -> None:
    check_transition(a, b)


@pytest.mark.parametrize("terminal", [S.COMPLETED, S.PARTIALLY_COMPLETED, S.FAILED, S.ABORTED])
def test_terminal_states_are_final(terminal: MissionStatus) -> None:
    assert terminal.terminal
    for other in MissionStatus:
        if other is not terminal:
            with pytest.raises(TransitionError, match=f"a {terminal.value} mission cannot"):
                check_transition(terminal, other)


def test_queued_cannot_complete_without_running() -> None:
    with pytest.raises(TransitionError):
        check_transition(S.QUEUED, S.COMPLETED)
