"""The robot-side methane lockout: :class:`Interlock` decides, from an inspection's
readings, whether the robot must lock itself out (docs/gas-safety.md, "Lockout").

A robot that is not rated to stay energised in firedamp (EPL Ma: Coal Mine Safety
Regulations, equipment allowed to stay energised above the power-off level) and measures
methane at or above its location's *power-off* level must stop and cut its drive power.
The agent then reports a FATAL ``methaneLockout`` error
(:data:`fleet.protocol.state.METHANE_LOCKOUT`) in its state and takes no order until a
person resets it.

The power-off level at a node is the ``powerOffLevel`` parameter of the ``inspect``
action (% CH4, put there by the manager from the site's interlock levels), else the
agent's configured :attr:`fleet.agent.config.AgentConfig.power_off_ch4` (default 1.5 %,
the Regulations' general rule). This is the SDK's software interlock, the stand-in a
simulated robot uses; a real robot's own certified interlock is the safety function, and
its integrator reports what it did through the same error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleet.protocol.inspection import Reading
from fleet.protocol.state import METHANE_LOCKOUT, Error, ErrorLevel
from fleet.sensors import CH4, VOL, convert, sensor_name

DEFAULT_POWER_OFF_CH4 = 1.5
"""% CH4: the Coal Mine Safety Regulations' power-off level at working places (and
AQ1029's at coal and heading faces), the strictest general rule an agent may assume."""

POWER_OFF_PARAMETER = "powerOffLevel"
"""The ``inspect`` action parameter carrying the node's power-off level (% CH4)."""


@dataclass(frozen=True, slots=True)
class Trip:
    """Why the robot locked itself out: ``value`` ``unit`` of ``sensor`` at ``node_id``,
    at or above ``level`` (% CH4)."""

    node_id: str
    sensor: str
    value: float
    unit: str
    level: float

    def error(self) -> Error:
        """The FATAL ``methaneLockout`` error the state carries until the reset."""
        return Error(
            METHANE_LOCKOUT, ErrorLevel.FATAL,
            f"methane {self.value:g} {self.unit} at {self.node_id} is at or above the "
            f"power-off level {self.level:g} {VOL}: drive powered off until a person "
            "resets the robot",
            hint="a person resets the robot once the area is safe (fleet robots reset)",
            references={"nodeId": self.node_id, "sensor": self.sensor,
                        "value": f"{self.value:g}", "unit": self.unit,
                        "powerOffLevel": f"{self.level:g}"})


class Interlock:
    """The decision, for one robot. ``stays_energised``: the robot is rated Ma and never
    locks out; ``power_off``: its default power-off level (% CH4)."""

    def __init__(self, *, stays_energised: bool,
                 power_off: float = DEFAULT_POWER_OFF_CH4) -> None:
        self.stays_energised = stays_energised
        self.power_off = power_off

    def level(self, parameters: Mapping[str, Any]) -> float:
        """The power-off level an ``inspect`` action's parameters give, else the default
        (a missing, negative or non-numeric parameter is ignored)."""
        value = parameters.get(POWER_OFF_PARAMETER)
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value) and value >= 0:
            return float(value)
        return self.power_off

    def check(self, node_id: str, readings: Sequence[Reading],
              parameters: Mapping[str, Any]) -> Trip | None:
        """The trip when a methane reading is at or above the level (None otherwise, and
        always None for a robot that stays energised)."""
        if self.stays_energised:
            return None
        level = self.level(parameters)
        for r in readings:
            if sensor_name(r.sensor) != CH4:
                continue
            v = convert(r.value, r.unit, VOL)
            if v is not None and math.isfinite(v) and v >= level:
                return Trip(node_id, r.sensor, r.value, r.unit, level)
        return None
