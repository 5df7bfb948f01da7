"""Liveness of a running manager: robots heard, silent, lost at exactly the limits of the
manual clock, and a lost robot's work handed back (in-memory network, manual clock)."""

from __future__ import annotations

import pytest

from fleet.errors import TransitionError
from fleet.manager import MissionStatus, RobotStatus
from fleet.manager.lifecycle import check_robot_transition
from fleet.manager.missions import MissionRun
from fleet.protocol.order import ActionType

from .harness import ScriptedRobot, Site

TIMEOUT = 3.0
EPS = 1e-3


def at_bottom(site: Site) -> tuple[ScriptedRobot, MissionRun]:
    """r1 on the tiny patrol, p1 inspected (result committed), standing at ``bottom`` at
    t=1: the next legs (to p2 and back) lie in the comms-dead zone."""
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(2)
    r1.send(r1.result("p1"))
    site.wait_until(lambda: "p1" in run.done)
    r1.report(3)
    site.at(1.0)
    r1.report(4)
    site.net.drain()
    assert site.entry().last_heard == 1.0
    return r1, run


def test_the_timeout_is_the_one_asked_for_on_a_manual_clock(site: Site) -> None:
    assert site.manager.settings.robot_timeout == TIMEOUT


def test_an_idle_robot_silent_past_the_timeout_is_lost_exactly_then(site: Site) -> None:
    site.robot("r1")
    entry = site.entry()
    assert entry.status is RobotStatus.ONLINE and entry.alive and entry.last_heard == 0.0
    site.at(TIMEOUT)
    site.check()
    assert entry.status is RobotStatus.ONLINE
    # no route, no dead zone ahead: no allowance, so lost as soon as it is silent
    site.at(TIMEOUT + EPS)
    site.check()
    assert entry.status is RobotStatus.CONNECTION_BROKEN


def test_a_robot_before_a_dead_zone_is_silent_then_lost_at_the_limits(site: Site) -> None:
    _, run = at_bottom(site)
    entry = site.entry()
    fac = site.facility
    edge = fac.edge_between("bottom", "p2")
    assert edge is not None
    # there and back through the dead zone, plus the 20 s inspection of p2, times 1.5
    allowance = site.manager.liveness.allowance(entry)
    assert allowance == pytest.approx(1.5 * (2 * edge.length / fac.edge_speed(edge, 1.2) + 20))
    heard = entry.last_heard
    for t, status in ((heard + TIMEOUT, RobotStatus.ONLINE),
                      (heard + TIMEOUT + EPS, RobotStatus.SILENT),
                      (heard + TIMEOUT + allowance - EPS, RobotStatus.SILENT)):
        site.at(t)
        site.check()
        assert entry.status is status, t
        assert run.assignments["r1"].active and run.pool == set()
    site.at(heard + TIMEOUT + allowance + EPS)
    site.check()
    assert entry.status is RobotStatus.CONNECTION_BROKEN
    # what it had left goes back to the pool; p1, inspected, does not
    [lost] = site.events(run, "robot_lost")
    assert lost["remaining"] == ["p2"] and lost["why"].startswith("silent for")
    assert run.pool == {"p2"} and set(run.done) == {"p1"}
    assert not run.assignments["r1"].active and entry.mission_id is None
    assert run.status is MissionStatus.RUNNING  # waits for a robot to take p2


def test_the_liveness_thread_declares_the_loss_by_itself(site: Site) -> None:
    _, run = at_bottom(site)
    entry = site.entry()
    site.at(entry.last_heard + TIMEOUT + site.manager.liveness.allowance(entry) + 1.0)
    site.wait_until(lambda: bool(site.events(run, "robot_lost")))
    assert entry.status is RobotStatus.CONNECTION_BROKEN and run.pool == {"p2"}


def test_a_robot_that_says_offline_is_lost_at_once(site: Site) -> None:
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(1)
    r1.offline()
    site.net.drain()
    assert site.entry().status is RobotStatus.OFFLINE
    assert site.events(run, "robot_lost") == [{"why": "said OFFLINE",
                                               "remaining": ["p1", "p2"]}]
    assert run.pool == {"p1", "p2"} and not run.assignments["r1"].active


def test_an_idle_robot_whose_token_goes_is_lost_at_once(site: Site) -> None:
    r1 = site.robot("r1")
    r1.drop_token()
    site.net.drain()
    entry = site.entry()
    assert not entry.alive and entry.status is RobotStatus.CONNECTION_BROKEN


def test_a_robot_whose_token_goes_before_a_dead_zone_is_only_silent(site: Site) -> None:
    r1, run = at_bottom(site)
    r1.drop_token()
    site.net.drain()
    entry = site.entry()
    assert entry.status is RobotStatus.SILENT and run.assignments["r1"].active
    r1.report(4)  # heard again, but without its token it stays silent at the next look
    site.net.drain()
    assert entry.status is RobotStatus.ONLINE
    site.check()
    assert entry.status is RobotStatus.SILENT


def test_the_status_table_refuses_offline_to_silent(site: Site) -> None:
    with pytest.raises(TransitionError, match="offline robot cannot become silent"):
        check_robot_transition(RobotStatus.OFFLINE, RobotStatus.SILENT)
    r1 = site.robot("r1")
    r1.offline()
    site.net.drain()
    entry = site.entry()
    with pytest.raises(TransitionError):
        entry.move(RobotStatus.SILENT)
    # liveness never tries: a lost robot stays lost until it is heard again
    site.at(TIMEOUT + EPS)
    site.check()
    assert entry.status is RobotStatus.OFFLINE
    r1.drop_token()  # how a clean shutdown ends (OFFLINE, then the token): still offline
    site.net.drain()
    assert entry.status is RobotStatus.OFFLINE
    r1.idle()
    site.net.drain()
    # heard again: no longer lost. It is ONLINE until the liveness thread's next tick,
    # which may call it SILENT at once (its token is gone): asserting ONLINE raced that
    # tick and failed under load
    assert not entry.status.lost and entry.status in (RobotStatus.ONLINE, RobotStatus.SILENT)


def test_a_lost_robot_that_comes_back_has_its_stale_order_cancelled(site: Site) -> None:
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(1)
    site.at(TIMEOUT + EPS)
    site.check()
    assert site.entry().status is RobotStatus.CONNECTION_BROKEN
    r1.report(1)
    site.net.drain()
    assert site.entry().status is RobotStatus.ONLINE
    [cancel] = [a for m in r1.instants() for a in m.actions]
    assert cancel.action_type == ActionType.CANCEL_ORDER.value
    assert site.events(run, "robot_back") == [{"order_cancelled": r1.order.order_id}]


def test_a_whole_fleet_silent_at_once_is_lost_only_after_three_times_the_limit(
        site: Site) -> None:
    """Nobody heard for a timeout: the manager (or its network) stalled, more likely than
    three robots failing together; losses wait FLEET_SILENCE_FACTOR (3) times longer."""
    for serial in ("r1", "r2", "r3"):
        site.robot(serial)
    entries = [site.entry(s) for s in ("r1", "r2", "r3")]
    site.at(TIMEOUT + EPS)
    site.check()
    assert all(e.status is RobotStatus.SILENT for e in entries)
    site.at(3 * TIMEOUT - EPS)
    site.check()
    assert all(e.status is RobotStatus.SILENT for e in entries)
    site.at(3 * TIMEOUT + EPS)
    site.check()
    assert all(e.status is RobotStatus.CONNECTION_BROKEN for e in entries)


def test_after_a_manager_stall_robots_are_given_time_for_their_queued_states(
        site: Site) -> None:
    """The manager heard nobody for more than a timeout, then hears again (it stalled;
    the robots' states queued up meanwhile): the silence was the manager's. Each robot's
    silence counts from when it resumed, with FLEET_SILENCE_FACTOR times the limit while
    the queued states are handled; a robot that stays silent is lost after that."""
    r1, r2, _ = (site.robot(s) for s in ("r1", "r2", "r3"))
    site.at(1.0)
    site.check()
    resumed = 1.0 + TIMEOUT + 0.5  # a state handled again after 3.5 s of hearing nobody

    clock = [resumed]

    def until(t: float, *talking: ScriptedRobot) -> None:
        """The talking robots' states handled every second up to ``t``, then a look."""
        while clock[0] < t:
            site.at(clock[0])
            for r in talking:
                r.idle()
            site.net.drain()
            clock[0] += 1.0
        site.at(t)
        site.check()

    until(resumed + TIMEOUT + EPS, r1)  # r2, r3 silent 7 s, 3 s since the manager resumed
    assert [site.entry(s).status for s in ("r2", "r3")] == [RobotStatus.SILENT] * 2
    until(resumed + 3 * TIMEOUT - EPS, r1, r2)  # r2's queued states handled at last
    assert site.entry("r3").status is RobotStatus.SILENT
    until(resumed + 3 * TIMEOUT + EPS, r1, r2)
    assert site.entry("r3").status is RobotStatus.CONNECTION_BROKEN
    assert site.entry("r2").status is RobotStatus.ONLINE


def test_several_robots_silent_together_while_others_talk_wait_three_times_longer(
        site: Site) -> None:
    """Three robots past their limits at one look while a fourth talks: a manager behind
    on its states (or a network fault), more likely than three robots failing together."""
    talker = site.robot("r0")
    for serial in ("r1", "r2", "r3"):
        site.robot(serial)
    for t in (1.0, 2.0, TIMEOUT, TIMEOUT + EPS):
        site.at(t)
        talker.idle()
        site.net.drain()
        site.check()
    assert [site.entry(s).status for s in ("r1", "r2", "r3")] == [RobotStatus.SILENT] * 3
    t = TIMEOUT + EPS
    while t < 3 * TIMEOUT - 1.0:
        t += 1.0
        site.at(t)
        talker.idle()
        site.net.drain()
        site.check()
    assert [site.entry(s).status for s in ("r1", "r2", "r3")] == [RobotStatus.SILENT] * 3
    site.at(3 * TIMEOUT + EPS)
    talker.idle()
    site.net.drain()
    site.check()
    assert [site.entry(s).status for s in ("r1", "r2", "r3")] == \
        [RobotStatus.CONNECTION_BROKEN] * 3
    assert site.entry("r0").status is RobotStatus.ONLINE


def test_one_robot_silent_while_the_others_talk_is_lost_at_the_limit(site: Site) -> None:
    _, r2, r3 = (site.robot(s) for s in ("r1", "r2", "r3"))
    site.at(TIMEOUT - 1.0)
    r2.idle()
    r3.idle()
    site.net.drain()
    site.at(TIMEOUT + EPS)
    site.check()
    assert site.entry("r1").status is RobotStatus.CONNECTION_BROKEN
    assert site.entry("r2").status is RobotStatus.ONLINE
