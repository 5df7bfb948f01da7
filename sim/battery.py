"""A simulated robot's battery: :class:`BatteryModel`, energy as a function of world time.

The battery is in one :class:`Mode` at a time; between mode changes its energy follows a
straight line (per ``battery_drain`` fault breakpoint), so the charge at any moment, and the
moment it goes flat, are computed rather than stepped. Figures come from the robot's
class, as the planner prices them (:class:`fleet.planning.robots.RobotClass`):
``wh_per_metre`` times the driving speed while driving, ``wh_per_second`` while standing
(dwelling, waiting, stuck), ``charge_w`` in while charging; a ``battery_drain`` fault
multiplies the draw by its ``factor`` from its time on.

Not thread-safe: its body guards it.
"""

from __future__ import annotations

import math
from enum import StrEnum

from fleet.planning.robots import RobotClass
from sim.scenario import Fault, FaultKind

FLAT_WH = 1e-6
"""Energy (Wh) below which the battery counts as flat (float residue of the arithmetic)."""


class Mode(StrEnum):
    """What the battery is doing."""

    STAND = "stand"
    """Standing, dwelling or stuck: ``wh_per_second``."""
    DRIVE = "drive"
    """Driving: ``wh_per_metre`` times the speed."""
    CHARGE = "charge"
    """Charging: ``charge_w`` in, up to the capacity."""


class BatteryModel:
    """The battery of a robot of class ``cls``, ``charge_pct`` full at world time ``t0``."""

    def __init__(self, cls: RobotClass, *, charge_pct: float, t0: float) -> None:
        self.cls = cls
        self.capacity = cls.battery_wh
        self.mode = Mode.STAND
        self._speed = 0.0
        self._wh = self.capacity * charge_pct / 100.0
        self._t = t0
        self._drains: list[Fault] = []

    def add_drain(self, fault: Fault, now: float) -> None:
        """Apply a ``battery_drain`` fault from its ``at_s`` on (others are ignored)."""
        if fault.kind is not FaultKind.BATTERY_DRAIN or fault.factor is None:
            return
        self._settle(max(self._t, min(fault.at_s, now)))  # drawn at the old rate so far
        self._drains.append(fault)

    def set_mode(self, mode: Mode, t: float, speed: float = 0.0) -> None:
        """Switch to ``mode`` at world time ``t`` (``speed``: m/s when driving)."""
        self._settle(t)
        self.mode = mode
        self._speed = speed

    def energy_at(self, t: float) -> float:
        """Energy in Wh at world time ``t`` (not before the last mode change)."""
        wh, at = self._wh, self._t
        for b in [*self._breaks(at, t), t]:
            if b <= at:
                continue
            wh = min(self.capacity, max(0.0, wh + self._rate(at) * (b - at)))
            at = b
        return wh

    def percent(self, t: float) -> float:
        """Charge in percent at world time ``t``."""
        return 100.0 * self.energy_at(t) / self.capacity

    def empty_time(self, after: float) -> float:
        """When the battery goes flat in the current mode (inf: not before a change)."""
        if self.mode is Mode.CHARGE:
            return math.inf
        wh, at = self.energy_at(after), after
        # rates only rise at drain breakpoints: walk them, then the last rate for ever
        for b in [*self._breaks(at, math.inf), math.inf]:
            rate = self._rate(at)
            if rate >= 0:
                return math.inf
            t_empty = at + wh / -rate
            if t_empty <= b:
                return t_empty
            wh += rate * (b - at)
            at = b
        return math.inf

    def _factor(self, t: float) -> float:
        factor = 1.0
        for f in self._drains:
            if f.at_s <= t and f.factor is not None:
                factor *= f.factor
        return factor

    def _rate(self, t: float) -> float:
        """Wh per world second going in (negative: drawn) at ``t`` in the current mode."""
        if self.mode is Mode.CHARGE:
            return self.cls.charge_w / 3600.0
        if self.mode is Mode.DRIVE:
            draw = self.cls.wh_per_metre * self._speed
        else:
            draw = self.cls.wh_per_second
        return -draw * self._factor(t)

    def _breaks(self, t0: float, t1: float) -> list[float]:
        return sorted({f.at_s for f in self._drains if t0 < f.at_s < t1})

    def _settle(self, t: float) -> None:
        if t > self._t:
            self._wh = self.energy_at(t)
            self._t = t
