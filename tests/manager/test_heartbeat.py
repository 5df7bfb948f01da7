"""Silence judged against a robot's own state interval, presence as the fast signal, and a
clean shutdown kept apart from a broken connection (in-memory network, manual clock)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fleet.manager import RobotStatus
from fleet.manager.liveness import HEARTBEAT_MARGIN, STANDARD_STATE_INTERVAL_S
from fleet.protocol import examples
from fleet.protocol.factsheet import Timing

from .harness import ScriptedRobot, Site

EPS = 1e-3


def declaring(site: Site, interval: float | None) -> ScriptedRobot:
    """r1 online at t=0 whose factsheet declares ``interval`` (None: declares none)."""
    r1 = site.robot("r1")
    r1.send(replace(examples.factsheet(), header=r1.stamper.blank(),
                    timing=Timing(default_state_interval=interval)))
    site.net.drain()
    return r1


@pytest.mark.parametrize("interval", [30.0, None], ids=["declares-30s", "declares-none"])
def test_a_robot_with_a_30_s_heartbeat_and_its_presence_up_is_lost_only_past_its_margin(
        site: Site, interval: float | None) -> None:
    declaring(site, interval)
    entry = site.entry()
    beat = interval or STANDARD_STATE_INTERVAL_S
    site.at(20.0)
    site.check()
    assert entry.status is RobotStatus.ONLINE  # 20 s of silence is within its interval
    site.at(beat + EPS)
    site.check()
    assert entry.status is RobotStatus.SILENT  # a beat missed: silent, not lost
    site.at(beat * HEARTBEAT_MARGIN - EPS)
    site.check()
    assert entry.status is RobotStatus.SILENT
    site.at(beat * HEARTBEAT_MARGIN + EPS)
    site.check()
    assert entry.status is RobotStatus.CONNECTION_BROKEN


def test_a_robot_declaring_a_fast_heartbeat_is_still_given_the_timeout(site: Site) -> None:
    declaring(site, 0.5)
    entry = site.entry()
    timeout = site.manager.settings.robot_timeout
    site.at(timeout - EPS)
    site.check()
    assert entry.status is RobotStatus.ONLINE
    site.at(timeout + EPS)
    site.check()
    assert entry.status is RobotStatus.CONNECTION_BROKEN


def test_presence_stays_the_fast_signal_whatever_the_heartbeat(site: Site) -> None:
    r1 = declaring(site, 30.0)
    r1.drop_token()
    site.net.drain()
    assert site.entry().status is RobotStatus.CONNECTION_BROKEN


def test_offline_then_the_token_gone_is_offline_not_a_broken_connection(site: Site) -> None:
    r1 = site.robot("r1")
    r1.offline()
    r1.drop_token()
    site.net.drain()
    assert site.entry().status is RobotStatus.OFFLINE
    site.at(100.0)
    site.check()
    assert site.entry().status is RobotStatus.OFFLINE


def test_a_token_lost_without_offline_is_a_broken_connection(site: Site) -> None:
    site.robot("r1").drop_token()
    site.net.drain()
    assert site.entry().status is RobotStatus.CONNECTION_BROKEN
