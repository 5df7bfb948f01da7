"""Repeats in the store (both databases): one inspection per (orderId, actionId), kept by
the database across restarts; further results of the action stored as repeats; old
duplicates sorted out by migration 0008 without deleting anything."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from fleet.store import schema
from fleet.store.database import database_url, make_engine, transaction
from tests.anomaly.factories import result
from tests.store.factories import Database


def of_action(n: int, *, action: str = "inspect-p1-1", value: float = 0.2,
              start: float = 0.0) -> list[dict[str, Any]]:
    """``n`` results of one action (distinct resultIds), a second apart."""
    out = []
    for i in range(n):
        r = result("p1", at=start + i, readings={"ch4": (value + i, "%vol")})
        r["actionId"] = action
        out.append(r)
    return out


def test_five_results_of_one_action_in_one_batch(db: Database) -> None:
    five = of_action(5)
    ids = [r["resultId"] for r in five]
    with db.open() as store:
        recorded = store.record_batch(five)
        assert recorded.committed == ids  # all five acknowledged
        assert [r.result_id for r in recorded.new] == ids[:1]  # one to judge
        assert [(r.result_id, r.repeat_of, r.count) for r in recorded.repeats] == [
            (rid, ids[0], n) for n, rid in enumerate(ids[1:], start=1)]
        assert [r.result_id for r in store.results()] == ids[:1]
        assert store.count_results() == 1 and store.count_results(repeats=True) == 4
        every = store.results(repeats=True)
        assert {r.result_id: r.repeat_of for r in every} == {
            ids[0]: None, **{rid: ids[0] for rid in ids[1:]}}
        assert all(len(r.readings) == 1 for r in every)  # kept with their readings
        # repeats are never judged, nor in the anomaly history
        assert [r.result_id for r in store.results(unchecked=True)] == ids[:1]
        assert [row.value for row in store.readings("p1", "ch4")] == [0.2]
        # the same batch again: the exactly-once path, nothing new
        again = store.record_batch(five)
        assert again.committed == ids and again.new == [] and again.repeats == []
        assert store.count_results(repeats=True) == 4


def test_the_rule_holds_across_a_restart(db: Database) -> None:
    first, second, third = of_action(3)
    with db.open() as store:
        assert [r.result_id for r in store.record_batch([first]).new] == [first["resultId"]]
    with db.open() as store:  # another manager, or this one restarted
        recorded = store.record_batch([second, third])
        assert recorded.new == []
        assert [(r.repeat_of, r.count) for r in recorded.repeats] == [
            (first["resultId"], 1), (first["resultId"], 2)]
        # another action of the same order is an inspection of its own
        other = of_action(1, action="inspect-p1-2", start=10)
        assert len(store.record_batch(other).new) == 1
        assert store.count_results() == 2


def test_migration_0008_sorts_old_duplicates_into_repeats(db: Database) -> None:
    engine: Engine = make_engine(database_url(db.url, db.path))
    try:
        schema.upgrade(engine, "0007")
        rows = [("11111111-1111-4111-8111-111111111111", "2025-01-01 00:00:02.000000"),
                ("22222222-2222-4222-8222-222222222222", "2025-01-01 00:00:01.000000"),
                ("33333333-3333-4333-8333-333333333333", "2025-01-01 00:00:03.000000"),
                ("44444444-4444-4444-8444-444444444444", "2025-01-01 00:00:04.000000")]
        with transaction(engine, write=True) as connection:
            for i, (rid, received) in enumerate(rows):
                action = "other" if i == 3 else "a"  # three results of action a, one of other
                connection.execute(text(
                    "INSERT INTO inspection_results (result_id, order_id, action_id, "
                    "manufacturer, serial_number, inspection_point_id, node_id, measured_at, "
                    "received_at, position) VALUES (:rid, 'o', :action, 'acme', 'R1', 'P1', "
                    "'N1', :t, :t, '{}')"), {"rid": rid, "action": action, "t": received})
                connection.execute(text(
                    "INSERT INTO readings (result_id, seq, sensor, value, unit, "
                    "inspection_point_id, measured_at) VALUES (:rid, 0, 'ch4', :v, '%vol', "
                    "'P1', :t)"), {"rid": rid, "v": float(i), "t": received})
    finally:
        engine.dispose()
    with db.open() as store:
        first = rows[1][0]  # received first
        every = {r.result_id: r.repeat_of for r in store.results(repeats=True)}
        assert every == {rows[0][0]: first, first: None, rows[2][0]: first, rows[3][0]: None}
        assert store.count_results() == 2 and store.count_results(repeats=True) == 2
        assert all(len(r.readings) == 1 for r in store.results(repeats=True))  # all kept
        assert sorted(row.value for row in store.readings("P1", "ch4")) == [1.0, 3.0]
        # and the database now keeps the rule itself
        late = of_action(1, action="a")[0]
        late.update(orderId="o")
        assert [r.repeat_of for r in store.record_batch([late]).repeats] == [first]
