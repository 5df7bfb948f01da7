"""Robots: upsert by (manufacturer, serial), fields left None keep their value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleet.store import Store
from tests.store.factories import Database

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_upsert_creates_then_updates_only_what_is_given(store: Store) -> None:
    first = store.upsert_robot("acme", "R1", robot_class="crawler",
                               capabilities={"sensors": ["ch4", "co"], "epl": "Gb"},
                               status="IDLE", battery=80.0, last_node="N1", last_seen=T0)
    assert first.id is not None
    assert (first.robot_class, first.capabilities, first.status, first.battery,
            first.last_node, first.last_seen) == (
        "crawler", {"sensors": ["ch4", "co"], "epl": "Gb"}, "IDLE", 80.0, "N1", T0)

    later = T0 + timedelta(seconds=5)
    second = store.upsert_robot("acme", "R1", battery=64.5, last_node="N2", last_seen=later)
    assert second.id == first.id
    assert (second.robot_class, second.capabilities, second.status) == (
        "crawler", {"sensors": ["ch4", "co"], "epl": "Gb"}, "IDLE")
    assert (second.battery, second.last_node, second.last_seen) == (64.5, "N2", later)
    assert store.robots() == [second]


def test_last_seen_defaults_to_now(store: Store) -> None:
    before = datetime.now(UTC)
    row = store.upsert_robot("acme", "R1")
    assert row.last_seen is not None
    assert before - timedelta(seconds=1) <= row.last_seen <= datetime.now(UTC)
    assert row.last_seen.tzinfo is not None


def test_identity_is_the_pair(store: Store) -> None:
    store.upsert_robot("zeta", "R1")
    store.upsert_robot("acme", "R2")
    store.upsert_robot("acme", "R1")
    store.upsert_robot("acme", "R1")
    assert [(r.manufacturer, r.serial_number) for r in store.robots()] == [
        ("acme", "R1"), ("acme", "R2"), ("zeta", "R1")]
    found = store.robot("zeta", "R1")
    assert found is not None and found.manufacturer == "zeta"
    assert store.robot("zeta", "R2") is None


def test_robots_survive_reopening(db: Database) -> None:
    with db.open() as s:
        s.upsert_robot("acme", "R1", capabilities={"batteryWh": 900.0}, last_seen=T0)
    with db.open() as s:
        robot = s.robot("acme", "R1")
        assert robot is not None
        assert robot.capabilities == {"batteryWh": 900.0} and robot.last_seen == T0
