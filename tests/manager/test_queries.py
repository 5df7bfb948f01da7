"""The query facade's mission record: a live mission and the same mission once finished
(read back from its stored snapshot) report the same routes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fleet.anomaly.record import MapDocument, MissionRecord
from fleet.clock import ManualClock
from fleet.errors import FleetError
from fleet.manager.core import Core, ManagerSettings
from fleet.manager.links import RobotId
from fleet.manager.missions import MissionRun, joined
from fleet.manager.queries import Queries
from fleet.protocol.header import Message
from fleet.store import Store

from .test_charging_stops import HEADER, _assignment, _mission, _state


class NoLink:
    """A robot link that is never used: the queries only read."""

    def start(self, events: Any) -> None:
        pass

    def send(self, robot: RobotId, message: Message) -> None:
        raise AssertionError("a query sent a message")

    def close(self) -> None:
        pass

    def reachable(self, robot: RobotId) -> bool:
        return True


def _queries(tmp_path: Path) -> tuple[Queries, MissionRun]:
    first = _assignment()
    first.first_order(HEADER)
    first.on_state(_state(first, 3, 90.0))
    run = MissionRun(first.mission_id, "night round", _mission(),
                     map_doc={"name": "site.yaml", "suffix": ".yaml", "text": "site: x\n"})
    run.assign(first)
    second = _assignment()  # the same robot takes over more work after its first round
    second.first_order(HEADER)
    second.on_state(_state(second, 1, 90.0))
    run.assign(second)
    store = Store.open(path=tmp_path / "fleet.db")
    store.add_mission(run.name, "document", mission_id=run.id)
    core = Core(store, NoLink(), ManagerSettings(), ManualClock(60.0))
    core.missions[run.id] = run
    return Queries(core), run


def test_live_and_finished_missions_report_the_same_routes(tmp_path: Path) -> None:
    queries, run = _queries(tmp_path)
    [first_round] = run.driven_before.values()
    live = queries.report(run.id)
    [route] = live.routes
    second = run.assignments[route.serial]
    assert route.driven == tuple(joined(first_round, second.driven()))
    assert route.planned == tuple(s.node_id for s in second.stops)
    assert route.manufacturer == second.manufacturer
    assert live.map == MapDocument("site: x\n", "site.yaml", ".yaml")
    assert live.mission.inspections is not None and live.mission.inspections.total == 1
    assert live.mission.name == "night round" and live.generated_at.minute == 1

    queries.core.store.save_plan(run.id, run.snapshot())
    del queries.core.missions[run.id]  # finished: only the store knows it now
    stored = queries.report(run.id)
    assert stored.routes == live.routes and stored.map == live.map
    assert stored.mission.inspections is None and stored.mission.status == "queued"
    assert MissionRecord.from_json(json.loads(json.dumps(stored.to_json()))) == stored


def test_a_damaged_snapshot_or_an_unknown_mission_is_one_error(tmp_path: Path) -> None:
    queries, run = _queries(tmp_path)
    del queries.core.missions[run.id]
    queries.core.store.save_plan(run.id, {"assignments": [{"serial": "r1", "stops": "DA"}]})
    with pytest.raises(FleetError, match="snapshot of this mission is damaged"):
        queries.report(run.id)
    queries.core.store.save_plan(run.id, None)
    assert queries.report(run.id).routes == ()
    with pytest.raises(FleetError, match="no mission"):
        queries.report("f" * 32)
