"""What a robot agent is told about itself: :class:`AgentConfig` and :class:`Capabilities`.

Both are frozen dataclasses checked on construction (:class:`AgentConfigError`, a
ValueError, naming the field and the reason). :meth:`AgentConfig.factsheet` builds the
factsheet the agent publishes, including the ``inspection`` capabilities extension.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fleet.errors import AgentConfigError as AgentConfigError  # re-exported
from fleet.errors import ProtocolError
from fleet.protocol.factsheet import (
    CANCEL_ORDER_SPEC,
    FACTSHEET_REQUEST_SPEC,
    INSPECT_ACTION_SPEC,
    AgvActionSpec,
    Epl,
    Factsheet,
    InspectionCapabilities,
    PhysicalParameters,
    Timing,
    TypeSpecification,
)
from fleet.protocol.header import Header
from fleet.protocol.keys import DEFAULT_INTERFACE, check_chunk, check_interface

if TYPE_CHECKING:
    from fleet.planning.robots import RobotClass

STATE_REQUEST_SPEC = AgvActionSpec("stateRequest", ("INSTANT",))
START_PAUSE_SPEC = AgvActionSpec("startPause", ("INSTANT",))
STOP_PAUSE_SPEC = AgvActionSpec("stopPause", ("INSTANT",))
START_CHARGING_SPEC = AgvActionSpec("startCharging", ("INSTANT", "NODE"))
STOP_CHARGING_SPEC = AgvActionSpec("stopCharging", ("INSTANT", "NODE"))
RESET_LOCKOUT_SPEC = AgvActionSpec("resetLockout", ("INSTANT",))


def _number(value: object, what: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AgentConfigError(f"{what} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise AgentConfigError(f"{what} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the robot can do, as its factsheet states it.

    ``sensors`` are sensor names (``ch4``, ``co``, ...); ``epl`` the robot's equipment
    protection levels: one (``"Mb"``), several (``("Mb", "Gb")``) or None for none, kept as
    a frozenset of :class:`Epl` once checked; energies in Wh, ``charge_w`` in W,
    ``speed_max`` in m/s, ``width`` and ``length`` in m; ``capabilities`` what a map zone
    may require (``stairs``, ...).
    """

    sensors: tuple[str, ...]
    epl: Epl | str | Iterable[Epl | str] | None = None
    battery_wh: float = 1000.0
    wh_per_metre: float = 0.05
    wh_per_second: float = 0.02
    charge_w: float = 500.0
    speed_max: float = 1.0
    series_name: str = "inspection-robot"
    width: float = 0.6
    length: float = 1.0
    capabilities: tuple[str, ...] = ()
    """What a zone may require (``stairs``, ...): the planner sends the robot only where
    it is able to go."""

    def __post_init__(self) -> None:
        caps = tuple(self.capabilities) if not isinstance(self.capabilities, str) \
            else (self.capabilities,)
        if not all(isinstance(c, str) and c for c in caps):
            raise AgentConfigError(
                f"capabilities must be non-empty strings, got {self.capabilities!r}")
        object.__setattr__(self, "capabilities", caps)
        sensors = tuple(self.sensors) if not isinstance(self.sensors, str) else (self.sensors,)
        if not all(isinstance(s, str) and s for s in sensors):
            raise AgentConfigError(f"sensors must be non-empty strings, got {self.sensors!r}")
        object.__setattr__(self, "sensors", sensors)
        object.__setattr__(self, "epl", _ratings(self.epl))
        for name in ("battery_wh", "charge_w", "speed_max", "width", "length"):
            _number(getattr(self, name), name, positive=True)
        for name in ("wh_per_metre", "wh_per_second"):
            _number(getattr(self, name), name)
        if not isinstance(self.series_name, str) or not self.series_name:
            raise AgentConfigError("series_name must be a non-empty string")

    @classmethod
    def of_class(cls, robot_class: RobotClass) -> Capabilities:
        """The capabilities a robot of planning class ``robot_class`` states (its
        factsheet then gives the manager back that class)."""
        c = robot_class
        return cls(tuple(sorted(c.sensors)), tuple(sorted(c.ratings)),
                   battery_wh=c.battery_wh, wh_per_metre=c.wh_per_metre,
                   wh_per_second=c.wh_per_second, charge_w=c.charge_w, speed_max=c.speed,
                   series_name=c.name, capabilities=tuple(sorted(c.capabilities)))

    def inspection(self) -> InspectionCapabilities:
        """The factsheet's ``inspection`` object."""
        return InspectionCapabilities(self.sensors, _ratings(self.epl), self.battery_wh,
                                      self.wh_per_metre, self.wh_per_second, self.charge_w,
                                      self.capabilities)


def _ratings(value: object) -> frozenset[Epl]:
    """Ratings from one rating, several, or None; AgentConfigError naming a bad one."""
    if value is None:
        return frozenset()
    values = [value] if isinstance(value, str | Epl) else value
    if not isinstance(values, Iterable):
        raise AgentConfigError(f"epl must be Ma, Mb, Ga, Gb, Gc, several of them or None, "
                               f"got {value!r}")
    out: set[Epl] = set()
    for v in values:
        try:
            out.add(v if isinstance(v, Epl) else Epl(v))
        except ValueError:
            raise AgentConfigError(f"epl must be Ma, Mb, Ga, Gb, Gc, several of them or "
                                   f"None, got {v!r}") from None
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Who the robot is and how its agent behaves.

    - ``manufacturer``, ``serial_number``, ``interface``: the robot's keys
      ``{interface}/v2/{manufacturer}/{serial_number}/...``.
    - ``state_interval``: clock seconds between states when nothing changes (VDA 5050's
      ``stateInterval``, default 1 s).
    - ``resend_after``, ``resend_max``: an unacknowledged inspection result is published
      again ``resend_after`` seconds after it was sent, then after twice that, and so on up
      to every ``resend_max`` seconds.
    - ``result_store``: a JSON-lines file keeping unacknowledged results across restarts
      (None: memory only).
    - ``node_tolerance``: how far (m) the robot may stand from the first node of a new
      order that gives no ``allowedDeviationXY`` of its own.
    - ``start_node``: the node the robot stands on when its agent starts (its dock, say),
      reported as ``lastNodeId`` until it moves, as VDA 5050 asks of a robot standing on a
      node (so ``fleet robots`` shows where it is); empty when unknown.
    - ``power_off_ch4``: the methane power-off level (% CH4) the robot applies where an
      ``inspect`` action gives no ``powerOffLevel`` (:mod:`fleet.agent.lockout`); a robot
      rated Ma never locks out.
    - ``lockout_reset``: whether the ``resetLockout`` instant action clears a lockout (the
      simulator's stand-in for the person at the robot). A robot reset only by a switch on
      it sets False and calls :meth:`~fleet.agent.RobotAgent.reset_lockout` from that
      switch's handler.
    """

    manufacturer: str
    serial_number: str
    capabilities: Capabilities
    interface: str = DEFAULT_INTERFACE
    state_interval: float = 1.0
    resend_after: float = 2.0
    resend_max: float = 30.0
    result_store: Path | None = None
    node_tolerance: float = 0.5
    start_node: str = ""
    power_off_ch4: float = 1.5
    lockout_reset: bool = True
    min_state_interval: float = field(default=0.1, repr=False)

    def __post_init__(self) -> None:
        try:
            check_chunk(self.manufacturer, "manufacturer")
            check_chunk(self.serial_number, "serial number")
            check_interface(self.interface)
        except ProtocolError as exc:
            raise AgentConfigError(str(exc)) from None
        if not isinstance(self.capabilities, Capabilities):
            raise AgentConfigError("capabilities must be a Capabilities")
        for name in ("state_interval", "resend_after", "resend_max", "min_state_interval"):
            _number(getattr(self, name), name, positive=True)
        _number(self.node_tolerance, "node_tolerance")
        _number(self.power_off_ch4, "power_off_ch4")
        if self.resend_max < self.resend_after:
            raise AgentConfigError(
                f"resend_max ({self.resend_max}) must be >= resend_after ({self.resend_after})")
        if self.result_store is not None:
            object.__setattr__(self, "result_store", Path(self.result_store))

    def factsheet(self, header: Header, *, charging: bool = False) -> Factsheet:
        """The factsheet to publish; ``charging`` adds startCharging/stopCharging."""
        caps = self.capabilities
        actions = [INSPECT_ACTION_SPEC, FACTSHEET_REQUEST_SPEC, CANCEL_ORDER_SPEC,
                   STATE_REQUEST_SPEC, START_PAUSE_SPEC, STOP_PAUSE_SPEC, RESET_LOCKOUT_SPEC]
        if charging:
            actions += [START_CHARGING_SPEC, STOP_CHARGING_SPEC]
        return Factsheet(
            header=header,
            type_specification=TypeSpecification(caps.series_name),
            physical_parameters=PhysicalParameters(speed_max=caps.speed_max, width=caps.width,
                                                   length=caps.length),
            inspection=caps.inspection(),
            timing=Timing(min_state_interval=self.min_state_interval,
                          default_state_interval=self.state_interval),
            agv_actions=tuple(actions),
        )
