"""The fleet manager service (``fleet serve``): robots, missions, dispatch, results.

The face of the package; :func:`build_manager` is the one way to get a running manager::

    from fleet.manager import ManagerSettings, build_manager

    manager = build_manager(store, bus, ManagerSettings(robot_timeout=5.0))
    ...
    manager.stop()

Inside, a manager is a :class:`~fleet.manager.core.Core` (state under one lock) and parts
each readable alone: :mod:`~fleet.manager.links` (robots reached through a
:class:`RobotLink`; VDA 5050 over Zenoh first), :mod:`~fleet.manager.liveness`,
:mod:`~fleet.manager.dispatcher` (with :mod:`~fleet.manager.dispatch`, a round as
orders), :mod:`~fleet.manager.planner_loop`, :mod:`~fleet.manager.ingestion`,
:mod:`~fleet.manager.queries` (what :mod:`~fleet.manager.api` reads);
:mod:`~fleet.manager.registry`, :mod:`~fleet.manager.missions` and
:mod:`~fleet.manager.lifecycle` hold robots, missions and their state tables.
"""

from fleet.manager.core import ManagerSettings
from fleet.manager.lifecycle import MissionStatus, RobotStatus
from fleet.manager.links import LinkEvents, RobotId, RobotLink, VdaZenohLink
from fleet.manager.service import Manager, build_manager

__all__ = [
    "LinkEvents", "Manager", "ManagerSettings", "MissionStatus", "RobotId", "RobotLink",
    "RobotStatus", "VdaZenohLink", "build_manager",
]
