"""The robot-side SDK: what a robot integrator (and every simulated robot) runs.

- :mod:`~fleet.agent.body`: :class:`RobotBody`, the small interface the integrator
  implements (pose, battery, ``move_to``, ``inspect``), :class:`ChargingBody`,
  :class:`MoveTarget`, and the failures a body raises (:class:`MoveFailed`,
  :class:`InspectionFailed`).
- :mod:`~fleet.agent.config`: :class:`AgentConfig` (identity, timing, result file) and
  :class:`Capabilities` (what the factsheet says).
- :mod:`~fleet.agent.agent`: :class:`RobotAgent`, the protocol side: connection, factsheet,
  state, orders, instant actions, inspection results.
- :mod:`~fleet.agent.progress`: :class:`OrderProgress`, the VDA 5050 order rules;
  :mod:`~fleet.agent.actions`: running ``inspect`` and charging actions on the body.
- :mod:`~fleet.agent.outbox`: :class:`ResultOutbox`, results kept until acknowledged.
- :mod:`~fleet.clock` and :mod:`~fleet.agent.ticker`: injectable time
  (:class:`SystemClock`, :class:`ScaledClock`) and one timer thread for many agents.

docs/agent.md shows a complete integration.
"""

from fleet.agent.agent import RobotAgent
from fleet.agent.body import Battery, ChargingBody, MoveTarget, Pose, RobotBody
from fleet.agent.config import AgentConfig, Capabilities
from fleet.agent.outbox import ResultOutbox
from fleet.agent.progress import OrderProgress, Verdict
from fleet.agent.ticker import Ticker
from fleet.clock import Clock, ScaledClock, SystemClock
from fleet.errors import (
    ActionFailed,
    AgentConfigError,
    AgentError,
    InspectionFailed,
    MoveFailed,
    OutboxError,
)

__all__ = [
    "ActionFailed", "AgentConfig", "AgentConfigError", "AgentError", "Battery",
    "Capabilities", "ChargingBody", "Clock", "InspectionFailed", "MoveFailed", "MoveTarget",
    "OrderProgress", "OutboxError", "Pose", "ResultOutbox", "RobotAgent", "RobotBody",
    "ScaledClock", "SystemClock", "Ticker", "Verdict",
]
