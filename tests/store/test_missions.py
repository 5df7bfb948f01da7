"""Missions and their events: what a restarted manager needs to know every mission."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fleet.errors import StoreError
from fleet.store import EVENT_CREATED, EVENT_PLAN, EVENT_STATUS, Store
from tests.store.factories import Database, Status

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DOC = "name: Früh-Rundgang\nmap: ../maps/qingshan.yaml\npoints: [P1, P2]  # ch4 ≥ 1 %\n"


def test_add_and_read_back(store: Store) -> None:
    m = store.add_mission("morning round", DOC, map_path="maps/qingshan.yaml",
                          objective="makespan", at=T0)
    assert re.fullmatch(r"[0-9a-f]{32}", m.id)
    got = store.mission(m.id)
    assert got is not None
    assert (got.name, got.document, got.map_path, got.objective, got.status, got.plan) == (
        "morning round", DOC, "maps/qingshan.yaml", "makespan", "queued", None)
    assert got.created_at == got.updated_at == T0
    assert got.failure_reason is None
    [created] = store.events(m.id)
    assert (created.kind, created.detail, created.at) == (EVENT_CREATED, {"status": "queued"}, T0)


def test_unknown_and_duplicate_ids(store: Store) -> None:
    assert store.mission("0" * 32) is None
    store.add_mission("a", DOC, mission_id="1" * 32)
    with pytest.raises(StoreError, match="already exists"):
        store.add_mission("b", DOC, mission_id="1" * 32)
    with pytest.raises(StoreError, match="no mission"):
        store.set_mission_status("2" * 32, Status.RUNNING)
    with pytest.raises(StoreError, match="no mission"):
        store.save_plan("2" * 32, {})
    with pytest.raises(StoreError, match="no mission"):
        store.add_event("2" * 32, "note")
    assert store.events("2" * 32) == []


def test_status_changes_are_recorded_with_events(store: Store) -> None:
    m = store.add_mission("m", DOC, at=T0)
    t1, t2, t3 = (T0 + timedelta(minutes=k) for k in (1, 2, 3))
    store.set_mission_status(m.id, Status.RUNNING, at=t1, robot_serial="R1")
    paused = store.set_mission_status(m.id, Status.PAUSED, "operator hold", at=t2)
    assert (paused.status, paused.failure_reason, paused.updated_at) == (
        "paused", "operator hold", t2)
    failed = store.set_mission_status(m.id, "failed", "robot R1 lost", at=t3)
    assert (failed.status, failed.failure_reason) == ("failed", "robot R1 lost")
    back = store.mission(m.id)
    assert back is not None and back.status == "failed" and back.updated_at == t3
    assert back.created_at == T0

    events = store.events(m.id)
    assert [e.kind for e in events] == [EVENT_CREATED, EVENT_STATUS, EVENT_STATUS, EVENT_STATUS]
    assert [e.detail for e in events[1:]] == [
        {"from": "queued", "to": "running", "reason": None},
        {"from": "running", "to": "paused", "reason": "operator hold"},
        {"from": "paused", "to": "failed", "reason": "robot R1 lost"},
    ]
    assert events[1].robot_serial == "R1" and events[2].robot_serial is None


def test_a_status_without_reason_clears_the_reason(store: Store) -> None:
    m = store.add_mission("m", DOC)
    store.set_mission_status(m.id, Status.PAUSED, "battery low")
    resumed = store.set_mission_status(m.id, Status.RUNNING)
    assert resumed.failure_reason is None


def test_plan_as_object_or_json_text(store: Store) -> None:
    m = store.add_mission("m", DOC, at=T0)
    plan = {"routes": [{"robot": "R1", "nodes": ["N1", "N2"], "eta_s": 12.5}], "ok": True}
    saved = store.save_plan(m.id, plan, at=T0 + timedelta(seconds=1))
    assert saved.plan == plan and saved.updated_at == T0 + timedelta(seconds=1)
    store.save_plan(m.id, '{"routes": []}')
    got = store.mission(m.id)
    assert got is not None and got.plan == {"routes": []}
    with pytest.raises(StoreError, match="not JSON"):
        store.save_plan(m.id, "{routes")
    assert [e.kind for e in store.events(m.id)] == [EVENT_CREATED, EVENT_PLAN, EVENT_PLAN]


def test_events_in_recorded_order(store: Store) -> None:
    m = store.add_mission("m", DOC, at=T0)
    other = store.add_mission("other", DOC, at=T0)
    same = T0 + timedelta(seconds=3)
    a = store.add_event(m.id, "dispatched", {"robots": ["R1", "R2"]}, robot_serial="R1", at=same)
    b = store.add_event(m.id, "node_reached", {"node": "N7"}, robot_serial="R2", at=same)
    store.add_event(other.id, "noise", at=same)
    store.add_event(m.id, "early", at=T0 + timedelta(seconds=1))
    assert a.id is not None and b.id is not None and a.id < b.id
    assert [e.kind for e in store.events(m.id)] == [
        EVENT_CREATED, "early", "dispatched", "node_reached"]
    assert store.events(m.id)[2].detail == {"robots": ["R1", "R2"]}


def test_missions_filter_order_and_limit(store: Store) -> None:
    ids = [store.add_mission(f"m{k}", DOC, at=T0 + timedelta(minutes=k)).id for k in range(5)]
    store.set_mission_status(ids[1], Status.RUNNING)
    store.set_mission_status(ids[3], Status.COMPLETED)
    store.set_mission_status(ids[4], Status.PAUSED)

    assert [m.id for m in store.missions()] == ids
    assert [m.id for m in store.missions(newest_first=True, limit=2)] == [ids[4], ids[3]]
    assert [m.id for m in store.missions(limit=2)] == ids[:2]
    assert [m.id for m in store.missions(Status.QUEUED)] == [ids[0], ids[2]]
    assert [m.id for m in store.missions("completed")] == [ids[3]]
    unfinished = [Status.QUEUED, Status.DISPATCHED, Status.RUNNING, Status.PAUSED]
    assert [m.id for m in store.missions(unfinished)] == [ids[0], ids[1], ids[2], ids[4]]
    assert store.missions(Status.ABORTED) == []


def test_a_restarted_manager_knows_every_mission(db: Database) -> None:
    with db.open() as s:
        a = s.add_mission("a", DOC, map_path="maps/plant.yaml")
        b = s.add_mission("b", DOC)
        s.save_plan(a.id, {"routes": [1, 2]})
        s.set_mission_status(a.id, Status.RUNNING)
        s.set_mission_status(b.id, Status.FAILED, "no eligible robot")
    with db.open() as s:
        by_id = {m.id: m for m in s.missions()}
        assert set(by_id) == {a.id, b.id}
        assert by_id[a.id].status == "running" and by_id[a.id].plan == {"routes": [1, 2]}
        assert by_id[a.id].map_path == "maps/plant.yaml" and by_id[a.id].document == DOC
        assert by_id[b.id].failure_reason == "no eligible robot"
        assert len(s.events(a.id)) == 3
