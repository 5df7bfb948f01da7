"""Fixed sensors: the site's gas monitoring network, heard on Zenoh, stored and judged.

The manager knows the fixed sensors of the sites it was given (:func:`build_manager`'s
``sites``, ``fleet serve --map``) and of the maps of the missions it runs
(:meth:`FixedSensors.add_site`). It subscribes, through its :class:`~fleet.comms.Bus`, to
``{interface}/sensors/*`` (docs/protocol.md); each message is checked on the transport's
thread and, when valid, queued:

- a message of a sensor no known map lists, or one that is not a valid ``sensorReading``
  (malformed JSON, schema, a ``sensorId`` other than the key's, another sensor than the
  map's, a unit that does not convert), is dropped, logged in one line at most once per
  sensor per :data:`DROP_LOG_S` seconds of the manager's clock, and counted
  (:attr:`FixedSensors.dropped`);
- a valid one is converted to the unit of the map's sensor and becomes a
  :class:`~fleet.anomaly.fixed_sensors.FixedReading` carrying the limits and interlock
  levels in force at the sensor (:meth:`fleet.anomaly.limits.LimitBook.at_sensor`: the map's
  overrides, not a mission's).

The sensor thread commits the queue in batches (:meth:`FixedSensors.commit`): readings and
what the anomaly rules made of them in one transaction
(:meth:`fleet.anomaly.log.AnomalyLog.observe_fixed`), or, should that fail, the readings
alone. Then every stored reading's :class:`~fleet.anomaly.fixed_sensors.InterlockCheck`
goes to the interlock hooks (:meth:`FixedSensors.add_hook`), in measuring order: the seam
of the lockout and closure code.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fleet.anomaly.fixed_sensors import FixedReading, InterlockCheck, InterlockHook
from fleet.anomaly.limits import LimitBook, map_book, site_problems
from fleet.anomaly.log import AnomalyLog
from fleet.comms.bus import Bus
from fleet.comms.transport import Handle
from fleet.errors import FleetError, MapError, ProtocolError, TransportError
from fleet.facility.fixed_sensors import META_KEY, FixedSensor, read_fixed_sensors
from fleet.facility.model import Facility
from fleet.manager.core import Core
from fleet.manager.ingestion import batches
from fleet.protocol.keys import parse_sensor_key, sensor_subscription_key
from fleet.protocol.sensor_reading import decode_sensor_reading
from fleet.sensors import convert, sensor_name

log = logging.getLogger(__name__)

DROP_LOG_S = 60.0
"""Clock seconds during which drops of one sensor's messages are logged only once."""

_DROP_MEMORY = 4096  # sensors whose last drop log is remembered before old ones are pruned


@dataclass(frozen=True)
class _Known:
    """A fixed sensor the manager listens to, with the site it belongs to."""

    sensor: FixedSensor
    site: str
    book: LimitBook
    x: float | None
    y: float | None
    level: str | None


class FixedSensors:
    """The fixed-sensor part of a manager (see the module docstring)."""

    def __init__(self, core: Core, anomalies: AnomalyLog, bus: Bus) -> None:
        self.core = core
        self.anomalies = anomalies
        self.bus = bus
        self.stored = 0
        """Fixed-sensor readings stored so far."""
        self.dropped = 0
        """Messages dropped (unknown sensor, malformed, inconsistent)."""
        self._known: dict[str, _Known] = {}
        self._hooks: list[InterlockHook] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[FixedReading | None] = queue.Queue()
        self._logged: dict[str, float] = {}
        self._handle: Handle | None = None

    # ------------------------------------------------------------------ configuration
    def add_site(self, facility: Facility, *, file: str | None = None,
                 strict: bool = True) -> tuple[FixedSensor, ...]:
        """Listen to the fixed sensors ``facility``'s map lists (replacing those an
        earlier map of the same site listed); the sensors added.

        With ``strict``, MapError listing every problem of the map's ``site.meta.sensors``
        and ``site.meta.limits`` (nothing is added); otherwise the problems are logged and
        the valid sensors added. A sensor id another site lists already moves to this one
        (logged). A map that lists no fixed sensors changes nothing.
        """
        meta = facility.meta if isinstance(facility.meta, Mapping) else {}
        if meta.get(META_KEY) is None:
            return ()
        sensors, _ = read_fixed_sensors(facility, file=file)
        book, _ = map_book(facility, file=file)
        problems = site_problems(facility, file=file)
        if problems and strict:
            raise MapError(problems)
        for problem in problems:
            log.error("fixed sensors of %s: %s", facility.name, problem)
        added: dict[str, _Known] = {}
        for s in sensors:
            node = facility.nodes[s.node]
            x, y, level = s.position if s.position is not None else (node.x, node.y,
                                                                    node.level)
            added[s.id] = _Known(s, facility.name, book, x, y, level)
        with self._lock:
            known = {k: v for k, v in self._known.items() if v.site != facility.name}
            for sid in added:
                if sid in known:
                    log.warning("fixed sensor %s of %s is now the one of %s", sid,
                                known[sid].site, facility.name)
            known.update(added)
            self._known = known  # replaced whole: the transport threads read it unlocked
        return sensors

    def add_hook(self, hook: InterlockHook) -> None:
        """Call ``hook`` with every stored reading's interlock check (see
        :data:`~fleet.anomaly.fixed_sensors.InterlockHook`)."""
        with self._lock:
            self._hooks = [*self._hooks, hook]

    def sensors(self) -> list[FixedSensor]:
        """The fixed sensors listened to, by id."""
        known = self._known
        return [known[k].sensor for k in sorted(known)]

    def site(self, sensor_id: str) -> str | None:
        """The name of the site whose map lists fixed sensor ``sensor_id`` (None: not
        known)."""
        found = self._known.get(sensor_id)
        return found.site if found is not None else None

    def book(self, sensor_id: str) -> LimitBook | None:
        """The limits of the site of fixed sensor ``sensor_id`` (None: not known)."""
        found = self._known.get(sensor_id)
        return found.book if found is not None else None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Subscribe to every fixed sensor's key."""
        self._handle = self.bus.subscribe_raw(
            sensor_subscription_key(self.core.settings.interface), self._on_sample)

    def close(self) -> None:
        """Unsubscribe, and make the sensor thread commit what is queued and return."""
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.undeclare()
            except TransportError as exc:
                log.debug("closing the fixed sensors' subscription: %s", exc)
        self._queue.put(None)

    def run(self) -> None:
        """The sensor thread: batches until :meth:`close`."""
        settings = self.core.settings
        for batch in batches(self._queue, settings.ingest_batch, settings.ingest_wait):
            self.commit(batch)

    # ------------------------------------------------------------------ incoming
    def _on_sample(self, key: str, payload: bytes) -> None:
        try:
            _, sensor_id = parse_sensor_key(key)
        except ProtocolError as exc:
            self._drop(key, str(exc))
            return
        known = self._known.get(sensor_id)
        if known is None:
            self._drop(sensor_id, "no known site map lists this fixed sensor "
                       "(site.meta.sensors)")
            return
        try:
            reading = decode_sensor_reading(payload)
        except ProtocolError as exc:
            self._drop(sensor_id, str(exc))
            return
        fixed = known.sensor
        if reading.sensor_id != sensor_id:
            self._drop(sensor_id, f"the message says sensorId {reading.sensor_id!r}, the "
                       f"key {sensor_id!r}")
            return
        if sensor_name(reading.sensor) != fixed.sensor:
            self._drop(sensor_id, f"the message measures {reading.sensor!r}, the map says "
                       f"{fixed.sensor!r}")
            return
        value = convert(reading.value, reading.unit, fixed.unit)
        if value is None:
            self._drop(sensor_id, f"unit {reading.unit!r} does not convert to {fixed.unit}")
            return
        place = known.book.at_sensor(fixed)
        reported = {k: v for k, v in (("nodeId", reading.node_id),
                                      ("position", reading.position)) if v is not None}
        self._queue.put(FixedReading(
            fixed, value, fixed.unit, reading.timestamp, self.core.clock.now(),
            place.limits.get(fixed.sensor), place.interlocks.get(fixed.sensor),
            known.x, known.y, known.level, reported or None))

    def _drop(self, sensor: str, reason: str) -> None:
        """Count a dropped message; log it unless ``sensor``'s last drop was logged less
        than :data:`DROP_LOG_S` clock seconds ago."""
        now = self.core.now()
        with self._lock:
            self.dropped += 1
            self.bus.dropped += 1
            last = self._logged.get(sensor)
            if last is not None and now - last < DROP_LOG_S:
                return
            if len(self._logged) >= _DROP_MEMORY:
                self._logged = {k: t for k, t in self._logged.items()
                                if now - t < DROP_LOG_S}
            self._logged[sensor] = now
        log.warning("dropped a message of fixed sensor %s: %s", sensor, reason)

    # ------------------------------------------------------------------ committing
    def commit(self, batch: list[FixedReading]) -> list[InterlockCheck]:
        """Store ``batch`` and judge it (one transaction), then call the interlock hooks;
        the checks they were given (empty when nothing could be stored)."""
        try:
            ids, _ = self.anomalies.observe_fixed(batch)
        except FleetError as exc:
            log.error("could not judge %d fixed-sensor readings (storing them alone): %s",
                      len(batch), exc)
            ids = self._store_alone(batch)
        # The sensor thread must live on to store the next readings whatever a rule does;
        # the readings are then stored without the rules' verdicts, and the error logged.
        except Exception:
            log.exception("anomaly rules failed on %d fixed-sensor readings (storing them "
                          "alone)", len(batch))
            ids = self._store_alone(batch)
        self.stored += len(ids)
        checks = [InterlockCheck.of(r, i) for r, i in zip(batch, ids, strict=False)]
        checks.sort(key=lambda c: c.reading.measured_at)
        self._call_hooks(checks)
        return checks

    def _store_alone(self, batch: list[FixedReading]) -> list[int]:
        try:
            return self.core.store.record_sensor_readings([r.row() for r in batch])
        except FleetError as exc:
            log.error("could not store %d fixed-sensor readings (lost): %s", len(batch), exc)
            return []

    def _call_hooks(self, checks: Iterable[InterlockCheck]) -> None:
        hooks = self._hooks
        for check in checks:
            for hook in hooks:
                try:
                    hook(check)
                # A hook is someone else's code: a bug there must neither lose the next
                # readings nor keep the other hooks from hearing of this one.
                except Exception:
                    log.exception("interlock hook %r failed on a reading of %s", hook,
                                  check.sensor_id)
