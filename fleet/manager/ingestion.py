"""Ingestion: inspection results committed, acknowledged, then judged.

Results arrive on the link's threads and are queued (:meth:`Ingestion.put`); the ingest
thread commits them in batches (one transaction per batch, up to
:attr:`~fleet.manager.core.ManagerSettings.ingest_batch` results or
:attr:`~fleet.manager.core.ManagerSettings.ingest_wait` real seconds), acknowledges each
robot's committed results on ``inspectionAck`` only *after* the commit (so a result is
never acknowledged and lost), marks their points done, and hands the results that were
new to the anomaly rules (each result is judged once; a result stored but not yet judged
when the manager dies is judged by the next one). A robot resends what is not
acknowledged; the store keeps each ``resultId`` once.

One inspection is counted per (``orderId``, ``actionId``): a further result of the same
action (another ``resultId``) is stored and acknowledged as a **repeat**
(:mod:`fleet.store.repeats`), so the robot stops resending it, but it does not make its
point done again, is not judged by the anomaly rules, and is recorded as a mission event
``result_repeated`` with the count of repeats of that inspection so far (``fleet mission
status`` shows the mission's count: ``inspections.repeats``).
"""

from __future__ import annotations

import logging
import queue
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import TypeVar

from fleet.anomaly.log import AnomalyLog
from fleet.errors import FleetError
from fleet.manager.closures import Closures
from fleet.manager.core import Core
from fleet.manager.dispatcher import Dispatcher
from fleet.manager.links import RobotId
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectionAck, InspectionResult
from fleet.store.repeats import Repeat

T = TypeVar("T")

log = logging.getLogger(__name__)

Item = tuple[RobotId, InspectionResult]


class Ingestion:
    """The ingestion part of a manager (see the module docstring)."""

    def __init__(self, core: Core, dispatcher: Dispatcher, anomalies: AnomalyLog,
                 closures: Closures | None = None) -> None:
        self.core = core
        self.dispatcher = dispatcher
        self.anomalies = anomalies
        self.closures = closures
        """Gas closures the robots' new readings open and reopen (None: none); a change
        wakes the planner, which re-routes (:class:`~fleet.manager.obstacles.Obstacles`)."""
        self._queue: queue.Queue[Item | None] = queue.Queue()

    def put(self, robot: RobotId, result: InspectionResult) -> None:
        """Queue a valid result for the next batch (any thread)."""
        self._queue.put((robot, result))

    def close(self) -> None:
        """Make the ingest thread commit what is queued and return."""
        self._queue.put(None)

    def run(self) -> None:
        """The ingest thread: batches until :meth:`close`."""
        settings = self.core.settings
        for batch in batches(self._queue, settings.ingest_batch, settings.ingest_wait):
            try:
                self.commit(batch)
            except FleetError:  # one batch's bookkeeping must not stop storing the next
                log.exception("results of %d robots stored, their bookkeeping failed",
                              len({robot for robot, _ in batch}))

    def commit(self, batch: list[Item]) -> None:
        """Store ``batch`` in one transaction, acknowledge, mark points done, judge."""
        core = self.core
        order_missions = self.dispatcher.orders()
        try:
            recorded = core.store.record_batch(
                [r for _, r in batch],
                order_missions={r.order_id: order_missions.get(r.order_id) for _, r in batch})
        except FleetError as exc:
            log.error("could not store %d results (robots will resend): %s", len(batch), exc)
            return
        committed = set(recorded.committed)
        acks: dict[RobotId, list[str]] = defaultdict(list)
        for robot, r in batch:
            if r.result_id in committed:
                acks[robot].append(r.result_id)
        for robot, ids in acks.items():
            core.send(robot.manufacturer, robot.serial, InspectionAck.of(Header(*robot), ids))
        try:
            self.anomalies.observe(recorded.new)  # new results only: each checked once
        # Results are stored and stay flagged unchecked whatever goes wrong here, and are
        # checked again later; the ingest thread must live on to store the next batch.
        except Exception:
            log.exception("anomaly rules failed on %d results (checked again later)",
                          len(recorded.new))
        if self.closures is not None:
            for stored in recorded.new:
                book = self.anomalies.limits_for(stored.mission_id)
                run = core.missions.get(stored.mission_id or "")
                site = run.spec.facility.name if run is not None else None
                for reading in stored.readings:
                    self.closures.observe(
                        stored.node_id or stored.inspection_point_id,
                        f"robot {stored.manufacturer}/{stored.serial_number}",
                        reading.sensor, reading.value, reading.unit,
                        book.interlock(stored.inspection_point_id, reading.sensor), site=site)
        repeats = {rep.result_id for rep in recorded.repeats}
        freed = False
        with core.lock:
            for robot, r in batch:
                # a repeat's action has its inspection already: its point is done once
                if r.result_id in committed and r.result_id not in repeats:
                    freed |= self.dispatcher.committed(robot.serial, r.order_id, r.action_id,
                                                       r.result_id)
            for rep in recorded.repeats:
                self._repeated(rep)
        if freed:
            core.wake.set()

    def _repeated(self, rep: Repeat) -> None:
        """Record a stored repeat on its mission (caller holds the lock); logged when the
        mission is not a live one (its events cannot be told then)."""
        core = self.core
        run = core.missions.get(rep.mission_id or "")
        log.info("result %s of %s is repeat %d of inspection %s (order %s, action %s)",
                 rep.result_id, rep.serial_number, rep.count, rep.repeat_of, rep.order_id,
                 rep.action_id)
        if run is None:
            return
        try:
            core.event(run, "result_repeated", rep.serial_number, {
                "point": rep.inspection_point_id, "order_id": rep.order_id,
                "action_id": rep.action_id, "result_id": rep.result_id,
                "repeat_of": rep.repeat_of, "repeats": rep.count})
        except FleetError as exc:  # the repeat is stored and counted either way
            log.error("could not record repeat %s: %s", rep.result_id, exc)


def batches(q: queue.Queue[T | None], size: int, wait: float) -> Iterator[list[T]]:
    """Batches of the items put on ``q`` until a None: each waits for its first item, then
    takes what comes within ``wait`` real seconds, up to ``size`` (one transaction each,
    so a burst is stored together and a lone item waits no longer than ``wait``). The
    items before the None come in a last batch."""
    done = False
    while not done:
        item = q.get()
        batch: list[T] = []
        if item is None:
            done = True
        else:
            batch.append(item)
        deadline = time.monotonic() + wait
        while len(batch) < size:
            try:
                item = q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                done = True
                break
            batch.append(item)
        if batch:
            yield batch
