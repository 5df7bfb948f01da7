"""Results that make sense (issue 19, part 5) on a running manager: one inspection per
(orderId, actionId), further results of the action acknowledged and kept as repeats; a
result taken on another level, or too far from its point, refused with the reason
(in-memory network, manual clock; docs/protocol.md, "Repeats" and "Plausibility")."""

from __future__ import annotations

from dataclasses import replace

from fleet.manager.missions import MissionRun
from fleet.manager.plausibility import POSITION_TOLERANCE_M
from fleet.protocol.inspection import InspectionResult
from fleet.protocol.state import AgvPosition

from .harness import ScriptedRobot, Site
from .test_ingestion import at_p1


def acked(robot: ScriptedRobot) -> set[str]:
    return {rid for ack in robot.acks() for rid in ack.result_ids}


def taken_at(result: InspectionResult, x: float, y: float, level: str) -> InspectionResult:
    return replace(result, agv_position=AgvPosition(x, y, 0.0, level))


def test_five_results_for_one_action_are_one_inspection_and_four_repeats(site: Site) -> None:
    r1, run = at_p1(site)
    results = [r1.result("p1") for _ in range(5)]  # one action, five resultIds
    for result in results:
        r1.send(result)
    ids = [r.result_id for r in results]
    # every one acknowledged, so the robot stops resending
    assert r1.wait_for(lambda: acked(r1) == set(ids))
    site.wait_until(lambda: len(site.events(run, "result_repeated")) == 4)
    # one inspection: the first; the point done once, judged once
    [inspection] = site.store.results(run.id)
    assert inspection.result_id == ids[0] and inspection.repeat_of is None
    assert site.events(run, "inspected") == [{"point": "p1", "result_id": ids[0]}]
    assert run.done == {"p1": "r1"}
    assert site.store.results(unchecked=True) == []
    # four repeats, stored with their readings, never judged
    stored = site.store.results(run.id, repeats=True)
    assert {r.result_id: r.repeat_of for r in stored} == {
        ids[0]: None, **{rid: ids[0] for rid in ids[1:]}}
    assert all(len(r.readings) == 2 for r in stored)
    assert [e["repeats"] for e in site.events(run, "result_repeated")] == [1, 2, 3, 4]
    assert {e["result_id"] for e in site.events(run, "result_repeated")} == set(ids[1:])
    assert site.manager.queries.mission(run.id)["inspections"]["repeats"] == 4
    assert site.store.count_results(run.id) == 1
    # a repeat sent again is the exactly-once path: acknowledged again, nothing new
    r1.send(results[3])
    assert r1.wait_for(lambda: sum(results[3].result_id in a.result_ids
                                   for a in r1.acks()) == 2)
    assert site.store.count_results(run.id, repeats=True) == 4
    assert len(site.events(run, "result_repeated")) == 4


def refused(site: Site, r1: ScriptedRobot, run: MissionRun, result: InspectionResult) -> str:
    """Send ``result``, expect it refused: the reason the robot was told."""
    r1.send(result)
    assert r1.wait_for(lambda: bool(r1.acks()))
    [ack] = r1.acks()
    assert ack.result_ids == ()
    [rejection] = ack.rejected
    assert rejection.result_id == result.result_id
    # not stored, its point not done, shown per robot as other refusals are
    assert site.store.results(repeats=True) == [] and "p1" not in run.done
    shown = site.manager.queries.robot("acme", "r1")
    assert shown["refused"] == 1
    assert shown["last_rejected"]["topic"] == "inspection"
    assert shown["last_rejected"]["reason"] == rejection.reason
    return rejection.reason


def test_a_result_from_another_level_is_refused_with_the_reason(site: Site) -> None:
    r1, run = at_p1(site)
    # p1 is at (40, 0) on level L1; the robot says it stood at the same x, y on L2
    reason = refused(site, r1, run, taken_at(r1.result("p1"), 40.0, 0.0, "L2"))
    assert "level 'L2'" in reason and "'p1'" in reason and "level 'L1'" in reason


def test_a_result_too_far_from_its_point_is_refused(site: Site) -> None:
    r1, run = at_p1(site)
    far = POSITION_TOLERANCE_M + 7.0
    reason = refused(site, r1, run, taken_at(r1.result("p1"), 40.0 + far, 0.0, "L1"))
    assert f"{far:.1f} m" in reason and f"tolerance {POSITION_TOLERANCE_M:g} m" in reason


def test_a_result_within_the_tolerance_is_accepted(site: Site) -> None:
    r1, run = at_p1(site)
    near = taken_at(r1.result("p1"), 40.0 + 0.6 * POSITION_TOLERANCE_M,
                    0.6 * POSITION_TOLERANCE_M, "L1")  # 0.85 of the tolerance away
    r1.send(near)
    assert r1.wait_for(lambda: acked(r1) == {near.result_id})
    assert all(a.rejected == () for a in r1.acks())
    site.wait_until(lambda: bool(site.events(run, "inspected")))
    assert run.done == {"p1": "r1"}


def test_a_result_without_a_known_position_is_accepted(site: Site) -> None:
    r1, run = at_p1(site)
    unknown = replace(r1.result("p1"), agv_position=AgvPosition(
        0.0, 0.0, 0.0, "L2", position_initialized=False))
    r1.send(unknown)
    assert r1.wait_for(lambda: acked(r1) == {unknown.result_id})
    site.wait_until(lambda: bool(site.events(run, "inspected")))
    assert run.done == {"p1": "r1"}
