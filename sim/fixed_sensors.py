"""The site's fixed gas sensors, simulated: readings from the world model on Zenoh.

A real site's gas monitoring network publishes each fixed sensor's readings on
``{interface}/sensors/{sensorId}`` (docs/protocol.md). :class:`FixedSensorFeed` does the
same for the fixed sensors the scenario's map lists (``site.meta.sensors``): every
``period_s`` world seconds, one reading per sensor, the world's value at the sensor's node
(:meth:`sim.world.World.reading`: background, gas plumes, noise) in the sensor's unit,
stamped with the world clock's date. Noise is drawn per (seed, sensor, round), so a run's
readings do not depend on thread scheduling. Sensors the world cannot read are left out
(logged once).
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Sequence

from fleet.clock import Clock
from fleet.comms import Bus
from fleet.errors import FleetError
from fleet.facility.fixed_sensors import FixedSensor, fixed_sensors
from fleet.protocol.keys import sensor_key
from fleet.protocol.sensor_reading import SensorReading
from fleet.sensors import convert
from sim.link import derive_seed
from sim.scenario import Scenario
from sim.world import World

log = logging.getLogger(__name__)

DEFAULT_PERIOD_S = 10.0
"""World seconds between two readings of a simulated fixed sensor, unless told."""


class FixedSensorFeed:
    """Publishes ``sensors``' readings from ``world`` on ``bus`` every ``period_s`` world
    seconds of ``clock`` (see the module docstring); :meth:`start` / :meth:`stop`."""

    def __init__(self, world: World, sensors: Sequence[FixedSensor], bus: Bus, *,
                 clock: Clock, interface: str = "uagv",
                 period_s: float = DEFAULT_PERIOD_S) -> None:
        if not (math.isfinite(period_s) and period_s > 0):
            raise ValueError(f"period_s must be a number > 0, got {period_s!r}")
        self.world = world
        self.bus = bus
        self.clock = clock
        self.interface = interface
        self.period_s = period_s
        self.sensors = [s for s in sensors if world.knows(s.sensor)]
        for s in sensors:
            if not world.knows(s.sensor):
                log.warning("fixed sensor %s is not simulated: the world has no %s",
                            s.id, s.sensor)
        self.published = 0
        """Readings published so far."""
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish_round(self) -> int:
        """Publish one reading of every sensor now; how many went out (a network failure
        is logged, and the next round tries again)."""
        t = self.clock.monotonic()
        stamp = self.clock.now()
        sent = 0
        for s in self.sensors:
            rng = random.Random(derive_seed(self.world.seed, "fixed", s.id, self.rounds))
            value, unit = self.world.reading(s.sensor, s.node, t, rng)
            in_unit = convert(value, unit, s.unit)
            if in_unit is None or not math.isfinite(in_unit):
                continue
            message = SensorReading(s.id, s.sensor, in_unit, s.unit, stamp, s.node)
            try:
                self.bus.publish_raw(sensor_key(self.interface, s.id), message.to_bytes())
            except FleetError as exc:
                log.warning("could not publish fixed sensor %s: %s", s.id, exc)
                continue
            sent += 1
        self.rounds += 1
        self.published += sent
        return sent

    def start(self) -> None:
        """Publish a round now and then every ``period_s`` world seconds, on a thread."""
        if self._thread is not None or not self.sensors:
            return
        self._thread = threading.Thread(target=self._run, name="sim-fixed-sensors",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        due = self.clock.monotonic()
        while not self._stop.is_set():
            self.publish_round()
            due += self.period_s
            if self.clock.wait(self._stop, max(0.0, due - self.clock.monotonic())):
                return


def feed_for(scenario: Scenario, bus: Bus, *, clock: Clock, interface: str = "uagv",
             period_s: float | None = DEFAULT_PERIOD_S) -> FixedSensorFeed | None:
    """A started feed of the fixed sensors ``scenario``'s map lists, publishing on ``bus``;
    None when it lists none or ``period_s`` is None."""
    sensors = fixed_sensors(scenario.facility)
    if period_s is None or not sensors:
        return None
    feed = FixedSensorFeed(World(scenario.facility, scenario), sensors, bus, clock=clock,
                           interface=interface, period_s=period_s)
    feed.start()
    return feed
