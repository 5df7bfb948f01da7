"""Plans solved in a process of their own: the same plans as in the manager's process, a
site sent once, errors and a solve that never ends told as PlanningError."""

from __future__ import annotations

import pickle
import threading
import time
from pathlib import Path

import pytest

from fleet.errors import MapError, PlanningError
from fleet.facility.model import Facility
from fleet.manager import planning_process
from fleet.manager.planning_process import PlanningProcess
from fleet.planning.mission import MissionSpec, load_mission
from fleet.planning.planner import plan_mission
from fleet.planning.robots import Fleet, load_fleet
from fleet.samples import resolve

LIMIT = 2.0


@pytest.fixture(scope="module")
def recheck() -> tuple[MissionSpec, Fleet]:
    mission = load_mission(resolve(Path("coal-mine-closure-recheck")))
    assert mission.fleet_path is not None
    return mission, load_fleet(mission.fleet_path)


@pytest.fixture
def worker() -> PlanningProcess:
    process = PlanningProcess()
    yield process  # type: ignore[misc]
    process.close()


def _site_size(fac: Facility, *, time_limit: float) -> int:
    return len(fac.nodes)


def _refuse(fac: Facility, *, time_limit: float) -> None:
    raise MapError(f"site {fac.name} refused")


def _crash(fac: Facility, *, time_limit: float) -> None:
    raise ZeroDivisionError("a planner bug")


def _forever(fac: Facility, *, time_limit: float) -> None:
    time.sleep(600)


def test_a_site_pickles_without_what_it_derived(recheck: tuple[MissionSpec, Fleet]) -> None:
    fac = recheck[0].facility
    assert fac.layout.blocks is not None and fac.graph.number_of_nodes()  # derived now
    copy = pickle.loads(pickle.dumps(fac))
    assert "graph" not in copy.__dict__ and "layout" not in copy.__dict__
    assert copy == fac and copy.layout.capacity == fac.layout.capacity


def test_the_process_plans_what_the_manager_would(worker: PlanningProcess,
                                                  recheck: tuple[MissionSpec, Fleet]) -> None:
    mission, fleet = recheck
    here = plan_mission(mission, fleet, time_limit=LIMIT)
    there = worker.call(plan_mission, mission, fleet, time_limit=LIMIT)
    assert there.objective_value == pytest.approx(here.objective_value, rel=1e-9)
    assert [(r.serial, r.inspections) for r in there.robots] == \
        [(r.serial, r.inspections) for r in here.robots]
    assert worker.sites_sent == 1
    worker.call(_site_size, mission.facility, time_limit=LIMIT)
    assert worker.sites_sent == 1  # the same site object: not sent again


def test_errors_come_back_as_planning_errors_and_the_process_lives_on(
        worker: PlanningProcess, recheck: tuple[MissionSpec, Fleet]) -> None:
    fac = recheck[0].facility
    with pytest.raises(PlanningError, match="refused"):
        worker.call(_refuse, fac, time_limit=LIMIT)
    with pytest.raises(PlanningError, match="planner failed: ZeroDivisionError"):
        worker.call(_crash, fac, time_limit=LIMIT)
    assert worker.call(_site_size, fac, time_limit=LIMIT) == len(fac.nodes)
    assert worker.restarts == 0


def test_a_solve_past_its_deadline_is_killed_and_the_next_call_works(
        worker: PlanningProcess, recheck: tuple[MissionSpec, Fleet],
        monkeypatch: pytest.MonkeyPatch) -> None:
    fac = recheck[0].facility
    monkeypatch.setattr(planning_process, "deadline", lambda _limit: 3.0)
    with pytest.raises(PlanningError, match="more than 3 s"):
        worker.call(_forever, fac, time_limit=LIMIT)
    assert worker.restarts == 1
    assert worker.call(_site_size, fac, time_limit=LIMIT) == len(fac.nodes)  # site again
    assert worker.sites_sent == 2


def test_closing_ends_a_call_under_way(worker: PlanningProcess,
                                       recheck: tuple[MissionSpec, Fleet]) -> None:
    fac = recheck[0].facility
    worker.call(_site_size, fac, time_limit=LIMIT)  # started
    failed: list[BaseException] = []

    def call() -> None:
        try:
            worker.call(_forever, fac, time_limit=LIMIT)
        except PlanningError as exc:
            failed.append(exc)

    t = threading.Thread(target=call)
    t.start()
    while not worker.busy:
        time.sleep(0.01)
    worker.close()
    t.join(30)
    assert not t.is_alive() and len(failed) == 1
    with pytest.raises(PlanningError, match="stopping"):
        worker.call(_site_size, fac, time_limit=LIMIT)


def test_in_process_calls_directly(recheck: tuple[MissionSpec, Fleet]) -> None:
    fac = recheck[0].facility
    direct = PlanningProcess(in_process=True)
    with pytest.raises(MapError):  # not translated: the caller's own exception
        direct.call(_refuse, fac, time_limit=LIMIT)
    assert direct.sites_sent == 0
