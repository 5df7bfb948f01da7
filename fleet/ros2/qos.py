"""ROS 2 QoS as written in liveliness tokens, by rmw_zenoh and by zenoh-bridge-ros2dds.

rmw_zenoh (``rmw_zenoh_cpp/src/detail/liveliness_utils.cpp``, ``qos_to_keyexpr`` and
``keyexpr_to_qos``): ``<reliability>:<durability>:<history>,<depth>:<deadline s>,<deadline
ns>:<lifespan s>,<lifespan ns>:<liveliness>,<lease s>,<lease ns>``, each element an integer
(rmw enum value or number) or empty when equal to rmw_zenoh's default, which is
(``rmw_zenoh_cpp/src/detail/qos.cpp``) reliable, volatile, keep_last, depth 42, infinite
deadline, lifespan and lease, automatic liveliness. rmw_zenoh sanitises a profile before
writing it (``QoS::best_available_qos``: system defaults and "default" durations become its
defaults), so ROS's default profile (reliable, volatile, keep_last 10) reads
``::,10:,:,:,,``. (Older rmw_zenoh releases defaulted to transient_local durability, which
changes the second element; an empty element always means "rmw_zenoh's default".)

zenoh-bridge-ros2dds (``zenoh-plugin-ros2dds/src/liveliness_mgt.rs``, ``qos_to_key_expr``):
``[K]:<reliability>:<durability>:<history>,<depth>[:<user data>]`` with Cyclone DDS kinds,
empty when the DDS QoS leaves the policy unset; ``K`` when the topic is keyed. From Iron on
the user data carries the type hash (``typehash=RIHS01_...;``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from fleet.errors import ProtocolError

__all__ = [
    "DURATION_INFINITE",
    "DdsQos",
    "Durability",
    "History",
    "Liveliness",
    "Reliability",
    "ZenohQos",
]


class Reliability(IntEnum):
    """rmw_qos_reliability_policy_e (ros2/rmw ``rmw/types.h``)."""

    SYSTEM_DEFAULT = 0
    RELIABLE = 1
    BEST_EFFORT = 2
    UNKNOWN = 3
    BEST_AVAILABLE = 4


class Durability(IntEnum):
    """rmw_qos_durability_policy_e."""

    SYSTEM_DEFAULT = 0
    TRANSIENT_LOCAL = 1
    VOLATILE = 2
    UNKNOWN = 3
    BEST_AVAILABLE = 4


class History(IntEnum):
    """rmw_qos_history_policy_e."""

    SYSTEM_DEFAULT = 0
    KEEP_LAST = 1
    KEEP_ALL = 2
    UNKNOWN = 3


class Liveliness(IntEnum):
    """rmw_qos_liveliness_policy_e (2, manual by node, is deprecated and unused)."""

    SYSTEM_DEFAULT = 0
    AUTOMATIC = 1
    MANUAL_BY_TOPIC = 3
    UNKNOWN = 4
    BEST_AVAILABLE = 5


#: RMW_DURATION_INFINITE as (seconds, nanoseconds) (ros2/rmw ``rmw/time.h``).
DURATION_INFINITE = (9223372036, 854775807)


def _int(text: str, default: int, what: str) -> int:
    if not text:
        return default
    if not text.isdigit():
        raise ProtocolError(f"QoS {what} is not a number: {text!r}")
    return int(text)


@dataclass(frozen=True)
class ZenohQos:
    """A QoS profile as rmw_zenoh writes it; defaults are rmw_zenoh's defaults."""

    reliability: Reliability = Reliability.RELIABLE
    durability: Durability = Durability.VOLATILE
    history: History = History.KEEP_LAST
    depth: int = 42
    deadline: tuple[int, int] = DURATION_INFINITE
    lifespan: tuple[int, int] = DURATION_INFINITE
    liveliness: Liveliness = Liveliness.AUTOMATIC
    lease: tuple[int, int] = DURATION_INFINITE

    def encode(self) -> str:
        """The token element, e.g. ``::,10:,:,:,,`` for reliable, volatile, keep_last 10."""
        d = ZenohQos()

        def part(value: int, default: int) -> str:
            return "" if value == default else str(int(value))

        def pair(value: tuple[int, int], default: tuple[int, int]) -> str:
            return f"{part(value[0], default[0])},{part(value[1], default[1])}"

        return ":".join(
            [
                part(self.reliability, d.reliability),
                part(self.durability, d.durability),
                f"{part(self.history, d.history)},{part(self.depth, d.depth)}",
                pair(self.deadline, d.deadline),
                pair(self.lifespan, d.lifespan),
                f"{part(self.liveliness, d.liveliness)},{pair(self.lease, d.lease)}",
            ]
        )

    @classmethod
    def parse(cls, text: str) -> ZenohQos:
        """The profile in a token element; raises ProtocolError if it is not one."""
        parts = text.split(":")
        if len(parts) != 6:
            raise ProtocolError(f"rmw_zenoh QoS needs 6 ':'-separated parts: {text!r}")
        history, deadline, lifespan, live = (p.split(",") for p in parts[2:])
        if (len(history), len(deadline), len(lifespan), len(live)) != (2, 2, 2, 3):
            raise ProtocolError(f"rmw_zenoh QoS has a malformed part: {text!r}")
        d = cls()
        try:
            return cls(
                reliability=Reliability(_int(parts[0], d.reliability, "reliability")),
                durability=Durability(_int(parts[1], d.durability, "durability")),
                history=History(_int(history[0], d.history, "history")),
                depth=_int(history[1], d.depth, "depth"),
                deadline=(
                    _int(deadline[0], d.deadline[0], "deadline"),
                    _int(deadline[1], d.deadline[1], "deadline"),
                ),
                lifespan=(
                    _int(lifespan[0], d.lifespan[0], "lifespan"),
                    _int(lifespan[1], d.lifespan[1], "lifespan"),
                ),
                liveliness=Liveliness(_int(live[0], d.liveliness, "liveliness")),
                lease=(_int(live[1], d.lease[0], "lease"), _int(live[2], d.lease[1], "lease")),
            )
        except ValueError as exc:  # an enum value out of range (ProtocolError passes too)
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError(f"rmw_zenoh QoS has an unknown policy: {text!r}") from exc


@dataclass(frozen=True)
class DdsQos:
    """A DDS QoS as zenoh-bridge-ros2dds writes it (Cyclone DDS kinds: reliability
    0 best effort / 1 reliable, durability 0 volatile / 1 transient local / 2 transient /
    3 persistent, history 0 keep last / 1 keep all); None where the QoS leaves it unset."""

    keyless: bool = True
    reliability: int | None = None
    durability: int | None = None
    history: tuple[int, int] | None = None
    user_data: str | None = None

    def encode(self) -> str:
        """The token element, e.g. ``:::`` when nothing is set."""
        text = ("" if self.keyless else "K") + ":"
        text += ("" if self.reliability is None else str(self.reliability)) + ":"
        text += ("" if self.durability is None else str(self.durability)) + ":"
        if self.history is not None:
            text += f"{self.history[0]},{self.history[1]}"
        if self.user_data is not None:
            text += ":" + self.user_data
        return text

    @classmethod
    def parse(cls, text: str) -> DdsQos:
        """The QoS in a token element; raises ProtocolError if it is not one."""
        parts = text.split(":", 4)
        if len(parts) < 4 or parts[0] not in ("", "K"):
            raise ProtocolError(f"ros2dds QoS needs '[K]:rel:dur:hist,depth': {text!r}")
        history = None
        if parts[3]:
            kind, _, depth = parts[3].partition(",")
            history = (_int(kind, 0, "history"), _int(depth.removeprefix("-"), 0, "depth"))
            if depth.startswith("-"):
                history = (history[0], -history[1])
        return cls(
            keyless=parts[0] == "",
            reliability=_int(parts[1], 0, "reliability") if parts[1] else None,
            durability=_int(parts[2], 0, "durability") if parts[2] else None,
            history=history,
            user_data=parts[4] if len(parts) > 4 else None,
        )
