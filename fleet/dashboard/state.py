"""The merged picture of a site the dashboard keeps: :class:`LiveState`.

The manager publishes ``{interface}/manager/live`` messages (docs/dashboard.md): a full
message carries everything, a delta only what changed since the message before it, and
each carries ``seq``, one more than the message before. :class:`LiveState` applies them in
order and tells its caller when it cannot (no full message yet, or a message missing), in
which case the caller asks the manager for a snapshot and applies what came after it.

Pure data, no threads and no network: the feed (:mod:`fleet.dashboard.feed`) guards it
with a lock.
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Any

LISTS = ("lockouts", "closures", "blocks", "schedules")
"""Parts of a message that are complete lists, present only when they changed."""

EVENTS_PER_ROBOT = 20
"""Recent mission events kept per robot (what a robot's panel shows)."""


class Applied(Enum):
    """What :meth:`LiveState.apply` did with a message."""

    MERGED = "merged"
    """The message was applied; the state is at its ``seq``."""
    STALE = "stale"
    """The message repeats the last one applied (or has no ``seq``): ignored."""
    GAP = "gap"
    """A delta that does not follow the state (none yet, or messages missing): not applied;
    the caller needs a full message (a snapshot) first."""


def _key(value: Any) -> str:
    return str(value)


class LiveState:
    """Robots by serial, missions by id, open anomalies by id, and the complete lists
    (lockouts, closures, held blocks, schedules) as the last message that carried them.

    ``seq`` is None until a full message has been applied.
    """

    def __init__(self, *, events_per_robot: int = EVENTS_PER_ROBOT) -> None:
        self.seq: int | None = None
        self.at: str | None = None
        self.robots: dict[str, dict[str, Any]] = {}
        self.missions: dict[str, dict[str, Any]] = {}
        self.anomalies: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list[Any]] = {name: [] for name in LISTS}
        self.manager: dict[str, Any] | None = None
        """The leading manager's ``{"name", "epoch"}`` (sites with standbys)."""
        self._events_per_robot = events_per_robot
        self.events: dict[str, deque[dict[str, Any]]] = {}

    def apply(self, message: dict[str, Any]) -> Applied:
        """Apply one live message (already decoded JSON). A full message always applies
        (it replaces everything); a delta applies only when its ``seq`` is one more than
        the state's. A delta with a lower ``seq`` is a GAP too: messages arrive in order
        from one manager, so it comes from a manager that restarted (counting anew)."""
        seq = message.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return Applied.STALE
        if message.get("full"):
            self.robots.clear()
            self.missions.clear()
            self.anomalies.clear()
            self.lists = {name: [] for name in LISTS}
        elif self.seq is None or seq > self.seq + 1 or seq < self.seq:
            return Applied.GAP
        elif seq == self.seq:
            return Applied.STALE
        self._merge(message)
        self.seq = seq
        self.at = message.get("at") if isinstance(message.get("at"), str) else self.at
        return Applied.MERGED

    def _merge(self, message: dict[str, Any]) -> None:
        for robot in _dicts(message.get("robots")):
            self.robots[_key(robot.get("serial"))] = robot
        for serial in _items(message.get("gone")):
            self.robots.pop(_key(serial), None)
            self.events.pop(_key(serial), None)
        for mission in _dicts(message.get("missions")):
            self.missions[_key(mission.get("mission_id"))] = mission
        for anomaly in _dicts(message.get("anomalies")):
            self.anomalies[_key(anomaly.get("id"))] = anomaly
        for anomaly_id in _items(message.get("anomalies_closed")):
            self.anomalies.pop(_key(anomaly_id), None)
        for name in LISTS:
            if isinstance(message.get(name), list):
                self.lists[name] = message[name]
        if isinstance(message.get("manager"), dict):
            self.manager = message["manager"]

    def add_event(self, event: dict[str, Any]) -> None:
        """Keep a mission event in its robot's recent events (the oldest drop out)."""
        robot = event.get("robot")
        if robot is None:
            return
        self.events.setdefault(_key(robot), deque(maxlen=self._events_per_robot)).append(event)

    def to_json(self) -> dict[str, Any]:
        """The whole state as the page's ``state`` event carries it (docs/dashboard.md)."""
        return {"seq": self.seq, "at": self.at, "manager": self.manager,
                "robots": dict(self.robots),
                "missions": dict(self.missions), "anomalies": dict(self.anomalies),
                **{name: list(value) for name, value in self.lists.items()},
                "events": {serial: list(kept) for serial, kept in self.events.items()}}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []
