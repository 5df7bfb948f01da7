"""Running node actions on a body: ``inspect`` (which yields an inspection result) and
``startCharging``/``stopCharging``.

Each function calls the body once and returns an :class:`Outcome`: success, or failure with
the reason the robot reports in ``actionStates[].resultDescription``. The failures a body
raises on purpose (:class:`~fleet.agent.body.ActionFailed`) give their message; any other
exception is integrator code gone wrong and is logged with its traceback.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

from fleet.agent.body import ChargingBody, Pose, RobotBody
from fleet.errors import ActionFailed, ProtocolError
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectionResult, new_result_id, read_inspect_action
from fleet.protocol.keys import Topic
from fleet.protocol.order import Action, Node
from fleet.protocol.state import AgvPosition
from fleet.protocol.validation import validate

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an action ended; ``result`` is the inspection result of a finished ``inspect``."""

    ok: bool
    reason: str | None = None
    result: InspectionResult | None = None


def agv_position(pose: Pose) -> AgvPosition:
    """``pose`` as the state's ``agvPosition`` (theta brought into [-pi, pi])."""
    return AgvPosition(pose.x, pose.y, math.remainder(pose.theta, math.tau), pose.map_id)


def inspect(body: RobotBody, node: Node, action: Action, *, order_id: str, header: Header,
            cancel: threading.Event) -> Outcome:
    """Run ``inspect`` action ``action`` at ``node`` of order ``order_id``.

    A finished inspection yields a schema-valid result with a new ``resultId``; readings the
    schema refuses (NaN, ...) fail the action instead. ``cancel`` set during the inspection
    (the agent stops) fails it too, without a result.
    """
    params = read_inspect_action(action)  # checked when the order was accepted
    try:
        readings, findings = body.inspect(params.inspection_point_id, params.sensors,
                                          params.duration_seconds, cancel)
    except ActionFailed as exc:
        return Outcome(False, str(exc))
    # integrator code: report the failure in the state rather than lose the worker
    except Exception as exc:
        logger.exception("inspect(%s) raised", params.inspection_point_id)
        return Outcome(False, f"internal error: {exc!r}")
    if cancel.is_set():
        return Outcome(False, "interrupted: the agent stopped")
    result = InspectionResult(
        header=header, result_id=new_result_id(), order_id=order_id,
        action_id=action.action_id, inspection_point_id=params.inspection_point_id,
        node_id=node.node_id, agv_position=agv_position(Pose(*body.position())),
        readings=tuple(readings), findings=tuple(findings) if findings else None)
    try:
        validate(Topic.INSPECTION, result.to_json())
    except ProtocolError as exc:
        return Outcome(False, f"invalid readings: {exc}")
    return Outcome(True, result=result)


def charge(body: ChargingBody, start: bool) -> Outcome:
    """``startCharging`` (``start``) or ``stopCharging`` on ``body``."""
    try:
        if start:
            body.start_charging()
        else:
            body.stop_charging()
    except ActionFailed as exc:
        return Outcome(False, str(exc))
    # integrator code: report the failure in the state rather than lose the thread
    except Exception as exc:
        logger.exception("%s raised", "start_charging" if start else "stop_charging")
        return Outcome(False, f"internal error: {exc!r}")
    return Outcome(True)
