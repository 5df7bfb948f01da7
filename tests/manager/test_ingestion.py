"""Ingestion and refusals of a running manager: results committed then acknowledged,
refused ones answered with the reason, shown per robot and logged once per robot per
REFUSAL_LOG_S (in-memory network, manual clock)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from fleet.manager.missions import MissionRun
from fleet.manager.service import REFUSAL_LOG_S
from fleet.protocol import examples
from fleet.protocol.codec import encode
from fleet.protocol.header import Header
from fleet.protocol.inspection import new_result_id
from fleet.protocol.keys import Topic
from fleet.protocol.state import BatteryState, State

from .harness import ScriptedRobot, Site

REFUSED = "refused a message of %s on %s: %s"


def at_p1(site: Site) -> tuple[ScriptedRobot, MissionRun]:
    """r1 on the tiny patrol, standing at p1 with its inspection FINISHED."""
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(2)
    site.net.drain()
    return r1, run


def malformed(robot: ScriptedRobot) -> tuple[str, bytes]:
    """A result of ``robot``'s whose first reading is not a number (invalid, with a
    readable resultId): the id and the payload."""
    result = replace(examples.inspection_result(), header=robot.stamper.next(Topic.INSPECTION),
                     result_id=new_result_id())
    obj = json.loads(encode(result))
    obj["readings"][0]["value"] = "high"
    return obj["resultId"], json.dumps(obj).encode()


def test_a_valid_result_is_committed_acknowledged_and_its_point_done(site: Site) -> None:
    r1, run = at_p1(site)
    result = r1.result("p1")
    r1.send(result)
    assert r1.wait_for(lambda: bool(r1.acks()))
    [ack] = r1.acks()
    assert ack.result_ids == (result.result_id,) and ack.rejected == ()
    # acknowledged only once committed: it is in the store when the ack arrives
    [stored] = site.store.results(run.id)
    assert (stored.result_id, stored.inspection_point_id) == (result.result_id, "p1")
    # the point is done and its event written by the ingest thread (in that order)
    site.wait_until(lambda: bool(site.events(run, "inspected")))
    assert run.done == {"p1": "r1"} and run.assignments["r1"].remaining == ["p2"]
    assert site.events(run, "inspected") == [{"point": "p1", "result_id": result.result_id}]
    # a copy sent again (the ack was lost, say) is acknowledged again, stored once
    r1.send(result)
    assert r1.wait_for(lambda: len(r1.acks()) == 2)
    assert r1.acks()[1].result_ids == (result.result_id,)
    assert len(site.store.results(run.id)) == 1
    assert len(site.events(run, "inspected")) == 1


def test_a_malformed_result_is_rejected_with_a_one_line_reason(site: Site) -> None:
    r1, run = at_p1(site)
    result_id, payload = malformed(r1)
    r1.send_raw(Topic.INSPECTION, payload)
    assert r1.wait_for(lambda: bool(r1.acks()))
    [ack] = r1.acks()
    assert ack.result_ids == ()
    [rejection] = ack.rejected
    assert rejection.result_id == result_id
    assert "readings" in rejection.reason and "\n" not in rejection.reason
    assert site.store.results() == [] and "p1" not in run.done
    shown = site.manager.queries.robot("acme", "r1")
    assert shown["refused"] == 1
    assert shown["last_rejected"] == {"topic": "inspection", "reason": rejection.reason,
                                      "at": "2025-01-01T00:00:00.000Z"}


def test_a_refusal_is_logged_once_per_robot_per_period(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="fleet.manager.service")
    r1, _ = at_p1(site)
    r2 = site.robot("r2")

    def logged() -> list[tuple[str, str]]:
        return [(str(r.args[0]), str(r.args[2])) for r in caplog.records
                if r.msg == REFUSED]  # type: ignore[index]

    def send(robot: ScriptedRobot) -> None:
        robot.send_raw(Topic.INSPECTION, malformed(robot)[1])
        site.net.drain()

    send(r1)
    send(r1)  # the same reason: not logged again
    [(robot, reason)] = logged()
    assert robot == "acme/r1" and "readings" in reason
    send(r2)  # another robot's is its own
    assert [robot for robot, _ in logged()] == ["acme/r1", "acme/r2"]
    site.at(REFUSAL_LOG_S - 0.5)
    send(r1)
    assert len(logged()) == 2
    site.at(REFUSAL_LOG_S + 0.5)
    send(r1)
    assert [robot for robot, _ in logged()] == ["acme/r1", "acme/r2", "acme/r1"]
    # every one of them was answered all the same, and counted
    assert sum(len(a.rejected) for a in r1.acks()) == 4
    assert site.manager.queries.robot("acme", "r1")["refused"] == 4


def test_a_message_naming_another_robot_than_its_key_is_refused(site: Site) -> None:
    r1 = site.robot("r1")
    before = site.entry("r1").state
    impostor = State(Header("acme", "r2"), BatteryState(5.0), last_node_id="a")
    r1.bus.publish(r1.key(Topic.STATE), impostor)
    site.net.drain()
    entry = site.entry("r1")
    assert entry.state is before  # not taken for r1's, nor for r2's
    assert site.manager.registry.find("r2") is None
    assert entry.refused == 1 and entry.last_rejected is not None
    assert entry.last_rejected.topic == "state"
    assert entry.last_rejected.reason == (
        "the header says acme/r2, the key acme/r1: a robot may only speak for itself")


def test_a_result_naming_another_robot_is_refused_and_answered(site: Site) -> None:
    r1, run = at_p1(site)
    result = r1.result("p1")
    r1.bus.publish(r1.key(Topic.INSPECTION),
                   replace(result, header=Header("acme", "r2")))
    assert r1.wait_for(lambda: bool(r1.acks()))
    [ack] = r1.acks()
    [rejection] = ack.rejected
    assert rejection.result_id == result.result_id and "speak for itself" in rejection.reason
    assert site.store.results() == [] and "p1" not in run.done
