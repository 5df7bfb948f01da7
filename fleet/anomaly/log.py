"""The anomaly log: rules applied to newly stored results, the lifecycle kept in the store.

:class:`AnomalyLog` is what the manager holds. After each committed batch of inspection
results it calls :meth:`AnomalyLog.observe` with the results that batch stored for the
first time; the log evaluates every reading and every robot finding against the limits in
force at the result's inspection point (:class:`~fleet.anomaly.limits.LimitBook`), folds
the verdicts into the anomalies (:mod:`fleet.anomaly.lifecycle`), adds the observations
and the alert deliveries, and marks the results as checked, all in one transaction.

Fixed sensors: :meth:`AnomalyLog.observe_fixed` stores a batch of fixed-sensor readings
and applies the same rules to them in one transaction (:mod:`fleet.anomaly.fixed_sensors`).

Exactly once: a result reaches the rules only when it is newly stored, and the rules'
effects commit together with the result's ``rules_checked`` flag. A manager killed between
storing a batch and checking it finds the unchecked results at :meth:`start`
(:meth:`check_pending`) and checks them then, once.

Rate of change: the previous reading of a sensor at a point is kept in memory per
(point, sensor) and read from the store (one indexed query) the first time a pair is seen
or when a reading arrives out of measuring order.

On SQLite the log also keeps the anomalies it has written in memory, so that a batch does
not read back what the previous batch wrote: the log is then the only writer of the
``anomalies`` table (one manager per database file; supervisors' acknowledgements go
through the manager, hence through this log). Any failed transaction empties that memory.
On PostgreSQL, where several managers may share a database, every batch reads its
anomalies with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fleet.anomaly.alerts import WEBHOOK, ZENOH, AlertDispatcher, AlertSettings, Publish, alerts_key
from fleet.anomaly.export import anomaly_json, iso
from fleet.anomaly.fixed_sensors import FixedReading, fixed_sightings, fixed_verdicts
from fleet.anomaly.lifecycle import (
    AlertEvent,
    Anomaly,
    AnomalyStatus,
    Sighting,
    acknowledge,
    observe,
    open_anomaly,
    resolve,
)
from fleet.anomaly.limits import LimitBook, Severity, map_overrides, read_overrides
from fleet.anomaly.rules import Previous, Verdict, evaluate, finding_verdict
from fleet.clock import Clock, SystemClock
from fleet.errors import FleetError, StoreError
from fleet.facility.model import Facility
from fleet.planning.mission import MissionSpec
from fleet.store import Store, StoredResult
from fleet.store.anomalies import AnomalyTransaction

_Applied = tuple[list[tuple[Anomaly, AlertEvent]], dict[tuple[str, str], dict[str, Any]]]
"""What folding sightings did: the alerts raised, and the column values written per
anomaly (point, sensor)."""

log = logging.getLogger(__name__)

MissionLookup = Callable[[str], MissionSpec | None]
"""The spec of a mission the manager knows (its map and limits), or None."""

_BOOKS = 256  # missions whose limits stay cached


class AnomalyLog:
    """Rules, lifecycle and alerts over one store (see the module docstring).

    ``mission_spec`` tells the log which map and mission a result belongs to (for limit
    overrides and the point's map coordinates); results of unknown missions are judged by
    the default limits and placed at the robot's reported position. ``publish`` sends
    alerts on Zenoh (key :func:`~fleet.anomaly.alerts.alerts_key` of ``interface``); without
    it alerts go to webhooks only. ``clock`` gives the current time (aware UTC).
    ``remember``: keep written anomalies in memory (default: on SQLite; see the module
    docstring).
    """

    def __init__(self, store: Store, *, interface: str = "uagv",
                 alerts: AlertSettings | None = None, publish: Publish | None = None,
                 mission_spec: MissionLookup | None = None,
                 clock: Clock | None = None,
                 remember: bool | None = None) -> None:
        self.store = store
        self.interface = interface
        self.publish = publish
        self.mission_spec = mission_spec
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.alerts = alerts or AlertSettings()
        self.dispatcher = AlertDispatcher(store, self.alerts, publish=publish, clock=self.clock)
        self.checked = 0
        """Results checked by this log so far."""
        self.failed_batches = 0
        """Batches whose check failed (left unchecked, checked again later)."""
        self._lock = threading.Lock()
        self._behind = False
        self._previous: dict[tuple[str, str], Previous] = {}
        self._books: OrderedDict[str | None, LimitBook] = OrderedDict()
        if remember is None:
            remember = store.engine.dialect.name == "sqlite"
        self._written: dict[tuple[str, str], dict[str, Any]] | None = {} if remember else None

    # ------------------------------------------------------------------ lifecycle
    def configure_alerts(self, settings: AlertSettings) -> None:
        """Use ``settings`` for alerts from now on (call before :meth:`start`)."""
        self.alerts = settings
        self.dispatcher.settings = settings

    def start(self) -> None:
        """Check the results a previous run left unchecked, then start sending alerts."""
        try:
            self.check_pending()
        # The manager must start whatever happens here: storing and acknowledging results
        # comes first, and unchecked results stay flagged for the next attempt.
        except Exception:
            log.exception("could not check the pending results (will retry)")
        self.dispatcher.start()

    def stop(self) -> None:
        """Stop sending alerts (pending deliveries stay pending for the next start)."""
        self.dispatcher.stop()

    # ------------------------------------------------------------------ rules
    def observe(self, results: Sequence[StoredResult]) -> list[tuple[Anomaly, AlertEvent]]:
        """Apply the rules to results just stored for the first time; the alerts raised.

        One transaction: the anomalies, their observations, the alert deliveries and the
        results' ``rules_checked`` flags. StoreError when the database refuses; the
        results then stay unchecked, and the next batch that succeeds checks them too
        (:meth:`check_pending`), as does the next :meth:`start`.
        """
        if not results:
            return []
        with self._lock:
            try:
                raised = self._observe(results)
            except Exception:
                self.failed_batches += 1
                self._behind = True
                self._forget()
                raise
            behind, self._behind = self._behind, False
        if raised:
            self.dispatcher.wake()
        if behind:  # an earlier batch failed and left results unchecked: check them now
            self.check_pending()
        return raised

    def observe_fixed(self, readings: Sequence[FixedReading]
                      ) -> tuple[list[int], list[tuple[Anomaly, AlertEvent]]]:
        """Store fixed-sensor readings and apply the rules to them, in one transaction;
        their ids in ``sensor_readings`` (in the order given) and the alerts raised.

        StoreError (or whatever a rule raises) when it fails: then nothing of the batch is
        kept, and the caller may store the readings alone
        (:meth:`fleet.store.Store.record_sensor_readings`).
        """
        if not readings:
            return [], []
        ids: list[int] = []

        def work(tx: AnomalyTransaction) -> _Applied:
            verdicts = fixed_verdicts(readings, self._previous, self._stored_fixed)
            ids.extend(tx.add_sensor_readings([r.row() for r in readings]))
            sightings = fixed_sightings(readings, ids, verdicts)
            return self._apply(tx, sightings) if sightings else ([], {})

        return ids, self._transact(work)

    def raise_event(self, verdict: Verdict, point: str, *, measured_at: datetime,
                    mission_id: str | None = None, manufacturer: str | None = None,
                    serial_number: str | None = None, x: float | None = None,
                    y: float | None = None, level: str | None = None
                    ) -> list[tuple[Anomaly, AlertEvent]]:
        """An anomaly the manager itself raises (a robot's lockout, a gas closure: rules
        :data:`~fleet.anomaly.rules.LOCKOUT`, :data:`~fleet.anomaly.rules.CLOSURE`) at
        ``point``, keyed like any other by (point, ``verdict.sensor``), with its alert; one
        transaction. Its observation refers to no result and no fixed-sensor reading.
        StoreError when the database refuses."""
        sighting = Sighting(verdict, point, None, None, measured_at, mission_id, manufacturer,
                            serial_number, x, y, level)
        return self._transact(lambda tx: self._apply(tx, [sighting]))

    def _transact(self, work: Callable[[AnomalyTransaction], _Applied]
                  ) -> list[tuple[Anomaly, AlertEvent]]:
        """Run ``work`` in one anomaly transaction under the lock; once committed, what it
        wrote is what the table holds and its alerts go out. On failure the cached state
        is dropped (reloaded from the store on next use) and the error raised."""
        with self._lock:
            try:
                with self.store.anomaly_transaction() as tx:
                    raised, written = work(tx)
            except Exception:
                self._forget()
                raise
            if self._written is not None:
                self._written.update(written)
        if raised:
            self.dispatcher.wake()
        return raised

    def check_pending(self, *, batch: int = 500) -> int:
        """Check every stored result the rules have not checked yet; how many there were."""
        total = 0
        while True:
            pending = self.store.results(unchecked=True, limit=batch)
            if not pending:
                return total
            self.observe(pending)
            total += len(pending)

    def _observe(self, results: Sequence[StoredResult]) -> list[tuple[Anomaly, AlertEvent]]:
        sightings: list[Sighting] = []
        for r in sorted(results, key=lambda r: r.measured_at):
            sightings.extend(self._sightings(r))
        raised: list[tuple[Anomaly, AlertEvent]] = []
        written: dict[tuple[str, str], dict[str, Any]] = {}
        with self.store.anomaly_transaction() as tx:
            if sightings:
                raised, written = self._apply(tx, sightings)
            tx.mark_checked([r.result_id for r in results])
        if self._written is not None:  # committed: now it is what the table holds
            self._written.update(written)
        self.checked += len(results)
        return raised

    def _sightings(self, r: StoredResult) -> list[Sighting]:
        # The busy path (every reading of every result): no work for a normal reading
        # beyond a few dict look-ups and one comparison.
        book = self._book(r.mission_id)
        limits = book.at(r.inspection_point_id)
        point, at = r.inspection_point_id, r.measured_at
        verdicts: list[tuple[Verdict, int | None]] = []
        previous = self._previous
        for seq, reading in enumerate(r.readings):
            sensor = _sensor_key(reading.sensor)
            key = (point, sensor)
            known = previous.get(key)
            value, unit = reading.value, reading.unit
            if known is None or at > known[0]:
                previous[key] = (at, value, unit)
            sensor_limits = limits.get(sensor)
            if sensor_limits is None:
                continue
            rate = sensor_limits.rate
            fresh = known is not None and known[0] < at
            if unit == sensor_limits.unit:
                # Fast path for the normal reading: skip evaluate() when it would find
                # nothing, i.e. inside the quiet band and not moving by the rate's rise
                # since the previous visit (the same arithmetic as evaluate's).
                low, high = sensor_limits.quiet
                if low <= value < high and (rate is None or (
                        fresh and known is not None and known[2] == unit and (
                            value - known[1] < rate.rise if rate.rise > 0
                            else value - known[1] > rate.rise))):
                    continue
            before = None
            if rate is not None:
                before = known if fresh else self._stored_previous(point, sensor,
                                                                   reading.sensor, at)
            verdict = evaluate(sensor_limits, value, unit, at=at, previous=before)
            if verdict is not None:
                verdicts.append((verdict, seq))
        for finding in r.findings or ():
            verdict = finding_verdict(finding)
            if verdict is not None:
                verdicts.append((verdict, None))
        if not verdicts:
            return []
        x, y, level = _place(book.facility, r)
        return [Sighting(v, point, r.result_id, seq, at, r.mission_id, r.manufacturer,
                         r.serial_number, x, y, level) for v, seq in verdicts]

    def _apply(self, tx: AnomalyTransaction, sightings: list[Sighting]) -> _Applied:
        """Fold the sightings into their anomalies; the alerts raised, and the column values
        now written per anomaly."""
        keys = {(s.point, s.verdict.sensor) for s in sightings}
        stored: dict[tuple[str, str], dict[str, Any]] = {}
        if self._written is not None:
            stored = {k: self._written[k] for k in keys if k in self._written}
        if len(stored) < len(keys):
            stored.update(tx.anomalies(keys - stored.keys()))
        anomalies = {key: Anomaly.from_values(values) for key, values in stored.items()}
        events: dict[tuple[str, str], AlertEvent] = {}
        for s in sightings:  # measuring order
            key = (s.point, s.verdict.sensor)
            anomaly = anomalies.get(key)
            if anomaly is None:
                anomalies[key] = open_anomaly(s)
                events[key] = AlertEvent.OPENED
                continue
            event = observe(anomaly, s)
            if event is not None:
                # one alert per anomaly and batch, built after the whole batch: an anomaly
                # opened and escalated within one batch is announced once, as opened, with
                # its final severity
                events.setdefault(key, event)
        touched = {(s.point, s.verdict.sensor) for s in sightings}
        now = self.clock.now()
        for key in touched:
            anomalies[key].updated_at = now
            if anomalies[key].created_at is None:
                anomalies[key].created_at = now
        new = [anomalies[k] for k in touched if anomalies[k].id is None]
        for anomaly, anomaly_id in zip(new, tx.insert([a.values() for a in new]),
                                       strict=True):
            anomaly.id = anomaly_id
        tx.update([_changes(anomalies[k], stored[k]) for k in touched if k in stored])
        tx.observe([{
            "anomaly_id": anomalies[(s.point, s.verdict.sensor)].id, "result_id": s.result_id,
            "seq": s.seq, "severity": s.verdict.severity.value, "rule": s.verdict.rule,
            "threshold": s.verdict.threshold, "value": s.verdict.value,
            "unit": s.verdict.unit, "mission_id": s.mission_id,
            "measured_at": _naive(s.measured_at),
            "sensor_reading_id": s.sensor_reading_id} for s in sightings])
        raised = [(anomalies[key], event) for key, event in events.items()]
        tx.deliver(self._deliveries(raised))
        return raised, {k: anomalies[k].values() for k in touched}

    def _deliveries(self, raised: list[tuple[Anomaly, AlertEvent]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        now = self.clock.now()
        for anomaly, event in raised:
            if Severity(anomaly.severity).rank < self.alerts.min_severity.rank:
                continue
            payload = alert_payload(anomaly, event, interface=self.interface, at=now)
            targets = [(WEBHOOK, url) for url in self.alerts.webhooks]
            if self.publish is not None:
                targets.insert(0, (ZENOH, alerts_key(self.interface)))
            out.extend({"anomaly_id": anomaly.id, "event": event.value, "channel": channel,
                        "target": target, "payload": payload, "status": "pending",
                        "attempts": 0, "created_at": now, "next_attempt_at": now}
                       for channel, target in targets)
        return out

    # ------------------------------------------------------------------ supervisors
    def acknowledge(self, anomaly_id: int, *, by: str, note: str | None = None) -> Anomaly:
        """``by`` takes anomaly ``anomaly_id`` in hand; the updated row. FleetError when
        there is no such anomaly or it is not open."""
        return _found(anomaly_id, self._change(anomaly_id, lambda row, at: acknowledge(
            row, by=by, note=note, at=at)))

    def resolve(self, anomaly_id: int, *, by: str, note: str | None = None) -> Anomaly:
        """``by`` declares anomaly ``anomaly_id`` dealt with; the updated row. FleetError
        when there is no such anomaly or it is already resolved."""
        return _found(anomaly_id, self._change(anomaly_id, lambda row, at: resolve(
            row, by=by, note=note, at=at)))

    def resolve_raised(self, point: str, sensor: str, *, by: str,
                       note: str | None = None) -> Anomaly | None:
        """Resolve the anomaly at (``point``, ``sensor``) that the manager raised
        (:meth:`raise_event`) now that its cause is gone; the updated row, or None when
        there is none or it is resolved already. StoreError when the database refuses."""
        return self._change((point, sensor), lambda row, at: resolve(
            row, by=by, note=note, at=at), unless_resolved=True)

    def _change(self, which: int | tuple[str, str], change: Callable[[Anomaly, datetime], None],
                *, unless_resolved: bool = False) -> Anomaly | None:
        """Apply ``change`` to anomaly ``which`` (an id, or its point and sensor) in one
        transaction; None when there is no such anomaly (or, ``unless_resolved``, it is
        resolved: then nothing is written)."""
        with self._lock:  # one writer at a time, so the remembered anomalies stay true
            try:
                with self.store.anomaly_transaction() as tx:
                    values = (tx.anomaly(which) if isinstance(which, int)
                              else tx.anomalies([which]).get(which))
                    if values is None or (unless_resolved and values["status"]
                                          == AnomalyStatus.RESOLVED.value):
                        return None
                    anomaly = Anomaly.from_values(values)
                    anomaly.updated_at = self.clock.now()
                    change(anomaly, anomaly.updated_at)
                    tx.update([anomaly.values()])
            except StoreError:
                self._forget()
                raise
            if self._written is not None:
                self._written[(anomaly.inspection_point_id, anomaly.sensor)] = anomaly.values()
            return anomaly

    def _forget(self) -> None:
        """Drop the remembered anomalies (a transaction failed: the table is the truth)."""
        if self._written is not None:
            self._written.clear()

    # ------------------------------------------------------------------ limits
    def limits_for(self, mission_id: str | None) -> LimitBook:
        """The limits the log applies to results of mission ``mission_id``."""
        with self._lock:
            return self._book(mission_id)

    def _book(self, mission_id: str | None) -> LimitBook:
        book = self._books.get(mission_id)
        if book is not None:
            self._books.move_to_end(mission_id)
            return book
        spec = self.mission_spec(mission_id) if (self.mission_spec and mission_id) else None
        book = mission_book(spec) if spec is not None else LimitBook()
        if spec is not None or mission_id is None:  # unknown missions may become known
            self._books[mission_id] = book
            while len(self._books) > _BOOKS:
                self._books.popitem(last=False)
        return book

    # ------------------------------------------------------------------ rate memory
    def _stored_previous(self, point: str, sensor: str, spelt: str,
                         at: datetime) -> Previous | None:
        """The latest reading before ``at`` from the store: the first time a (point,
        sensor) pair is seen, or for a reading older than the newest one known."""
        rows = self.store.readings(point, spelt, before=at, newest_first=True, limit=1)
        return (rows[0].measured_at, rows[0].value, rows[0].unit) if rows else None


    def _stored_fixed(self, sensor_id: str, sensor: str, at: datetime) -> Previous | None:
        """The latest stored reading of a fixed sensor before ``at``."""
        rows = self.store.sensor_readings(sensor_id, sensor, before=at, newest_first=True,
                                          limit=1)
        return (rows[0].measured_at, rows[0].value, rows[0].unit) if rows else None


def _changes(anomaly: Anomaly, stored: dict[str, Any]) -> dict[str, Any]:
    """The columns of ``anomaly`` that differ from ``stored``, with its ``id``: an update
    writes only those (most repeats change three or four)."""
    values = anomaly.values()
    out = {k: v for k, v in values.items() if stored.get(k) != v}
    out["id"] = anomaly.id
    return out


def _naive(moment: datetime) -> datetime:
    """Naive UTC: the store takes it as UTC without a conversion per value."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


_SENSOR_KEYS: dict[str, str] = {}


def _sensor_key(name: str) -> str:
    """The sensor name limits and anomalies use: stripped, lower case (remembered: sensor
    names are few and this runs for every reading)."""
    key = _SENSOR_KEYS.get(name)
    if key is None:
        key = name.strip().lower()
        if len(_SENSOR_KEYS) < 4096:
            _SENSOR_KEYS[name] = key
    return key


def mission_book(spec: MissionSpec) -> LimitBook:
    """The limits of a mission: its map's ``site.meta.limits`` and its own ``limits``.

    Overrides with problems were refused when the mission was loaded; should one slip
    through (a map changed behind the manager's back), its problems are logged and the
    rest applies.
    """
    facility = spec.facility
    map_part, problems = map_overrides(facility, file=str(spec.map_path or facility.name))
    mission_part, more = read_overrides(spec.limits, file=spec.name, facility=facility)
    for problem in (*problems, *more):
        log.error("limits ignored: %s", problem)
    return LimitBook(facility, map_part, mission_part)


def _place(facility: Facility | None, r: StoredResult) -> tuple[float | None, float | None,
                                                                   str | None]:
    """Where the result's inspection point is on the map: the map's node when known, else
    the robot's reported position (``mapId`` as the level)."""
    if facility is not None:
        node = facility.nodes.get(r.inspection_point_id)
        if node is not None:
            return node.x, node.y, node.level
    x, y = r.position.get("x"), r.position.get("y")
    level = r.position.get("mapId")
    if isinstance(x, int | float) and isinstance(y, int | float):
        return float(x), float(y), level if isinstance(level, str) else None
    return None, None, None


def alert_payload(row: Anomaly, event: AlertEvent, *, interface: str,
                  at: datetime) -> dict[str, Any]:
    """The JSON body of an alert about ``row`` (docs/anomalies.md describes it)."""
    return {"type": f"anomaly.{event.value}", "event": event.value, "interface": interface,
            "raised_at": iso(at), "summary": summary(row, event), "anomaly": anomaly_json(row)}


def summary(row: Anomaly, event: AlertEvent | None = None) -> str:
    """One line for people: ``ALARM at p1: ch4 1.8 %vol (limit 1.5, rule above), opened``."""
    what = f"{row.sensor} {row.peak:g} {row.unit or ''}".rstrip() if row.peak is not None \
        else row.sensor
    limit = f" (limit {row.threshold:g}, rule {row.rule})" if row.threshold is not None \
        else f" (rule {row.rule})"
    return (f"{row.severity.upper()} at {row.inspection_point_id}: {what}{limit}"
            + (f", {event.value}" if event is not None else ""))


def _found(anomaly_id: int, anomaly: Anomaly | None) -> Anomaly:
    if anomaly is None:
        raise FleetError(f"no anomaly {anomaly_id}")
    return anomaly
