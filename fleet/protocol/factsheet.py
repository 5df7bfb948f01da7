"""The robot's factsheet, with this project's ``inspection`` capabilities extension.

A robot publishes its factsheet when it starts and whenever it receives the instant action
``factsheetRequest``. Besides the VDA 5050 fields, an inspection robot adds a top-level
object ``inspection`` (:class:`InspectionCapabilities`): its sensors, its equipment
protection levels (ratings), and its energy model. The official factsheet schema does not forbid
additional properties, so such a factsheet remains valid VDA 5050; the extension object is
checked against our own ``factsheetInspection`` schema. Speed comes from
``physicalParameters.speedMax``.

Two quirks of the official 2.1.0 schema are worth knowing: ``agvActions[].blockingTypes``
is declared as an array whose value must be one of three strings, which no value satisfies,
so a valid factsheet leaves it out (this model never writes it); and ``agvClass`` only
knows FORKLIFT, CONVEYOR, TUGGER and CARRIER (inspection robots use CARRIER).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from fleet.errors import ProtocolError
from fleet.protocol.header import Header, JsonDict, drop_none
from fleet.protocol.keys import Topic
from fleet.protocol.validation import validate
from fleet.sensors import SENSORS

KNOWN_SENSORS = tuple(SENSORS)
"""Sensor names this project understands (:data:`fleet.sensors.SENSORS`); others are
allowed and carried through."""


class Epl(StrEnum):
    """Equipment protection level (IEC 60079-0): group I (mines susceptible to firedamp)
    and group II (other explosive gas atmospheres). The rules that use them are
    :mod:`fleet.facility.protection`'s."""

    MA = "Ma"
    """Group I, very high protection: may stay energised in firedamp."""
    MB = "Mb"
    """Group I, high protection: de-energised when methane appears."""
    GA = "Ga"
    """Group II, very high protection: may work in zone 0."""
    GB = "Gb"
    """Group II, high protection: may work in zones 1 and 2."""
    GC = "Gc"
    """Group II, enhanced protection: may work in zone 2."""


def epl_json(ratings: frozenset[Epl]) -> str | list[str] | None:
    """The wire form of ratings: ``null`` for none, a string for one (as robots that know
    one rating send it), a list for several, in the standard's order."""
    values = [e.value for e in Epl if e in ratings]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True, slots=True)
class InspectionCapabilities:
    """The factsheet's ``inspection`` object; energies in Wh, power in W; ``epl`` the
    robot's ratings (empty: none)."""

    sensors: tuple[str, ...]
    epl: frozenset[Epl]
    battery_wh: float
    wh_per_metre: float
    wh_per_second: float
    charge_w: float
    capabilities: tuple[str, ...] = ()
    """What a zone may require beyond sensors and protection (``stairs``, ...)."""

    def to_json(self) -> JsonDict:
        out: JsonDict = {
            "sensors": list(self.sensors),
            "epl": epl_json(self.epl),
            "batteryWh": self.battery_wh, "whPerMetre": self.wh_per_metre,
            "whPerSecond": self.wh_per_second, "chargeW": self.charge_w,
        }
        if self.capabilities:
            out["capabilities"] = list(self.capabilities)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> InspectionCapabilities:
        """Capabilities from the ``inspection`` object; ProtocolError when invalid."""
        validate("factsheetInspection", d)
        epl = d["epl"]
        ratings = frozenset() if epl is None else frozenset(
            Epl(e) for e in (epl if isinstance(epl, list) else [epl]))
        return cls(tuple(d["sensors"]), ratings, d["batteryWh"],
                   d["whPerMetre"], d["whPerSecond"], d["chargeW"],
                   tuple(d.get("capabilities") or ()))


@dataclass(frozen=True, slots=True)
class TypeSpecification:
    """What kind of vehicle this is (VDA 5050 ``typeSpecification``)."""

    series_name: str
    agv_kinematic: str = "DIFF"
    agv_class: str = "CARRIER"
    max_load_mass: float = 0.0
    localization_types: tuple[str, ...] = ("NATURAL",)
    navigation_types: tuple[str, ...] = ("AUTONOMOUS",)
    series_description: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none({
            "seriesName": self.series_name, "seriesDescription": self.series_description,
            "agvKinematic": self.agv_kinematic, "agvClass": self.agv_class,
            "maxLoadMass": self.max_load_mass,
            "localizationTypes": list(self.localization_types),
            "navigationTypes": list(self.navigation_types),
        })

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TypeSpecification:
        return cls(d["seriesName"], d["agvKinematic"], d["agvClass"], d["maxLoadMass"],
                   tuple(d["localizationTypes"]), tuple(d["navigationTypes"]),
                   d.get("seriesDescription"))


@dataclass(frozen=True, slots=True)
class PhysicalParameters:
    """Speeds in m/s, accelerations in m/s², sizes in m."""

    speed_max: float
    speed_min: float = 0.0
    acceleration_max: float = 0.5
    deceleration_max: float = 0.5
    height_max: float = 1.0
    width: float = 0.6
    length: float = 1.0
    height_min: float | None = None

    def to_json(self) -> JsonDict:
        return drop_none({
            "speedMin": self.speed_min, "speedMax": self.speed_max,
            "accelerationMax": self.acceleration_max, "decelerationMax": self.deceleration_max,
            "heightMin": self.height_min, "heightMax": self.height_max,
            "width": self.width, "length": self.length,
        })

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PhysicalParameters:
        return cls(d["speedMax"], d["speedMin"], d["accelerationMax"], d["decelerationMax"],
                   d["heightMax"], d["width"], d["length"], d.get("heightMin"))


@dataclass(frozen=True, slots=True)
class Timing:
    """Message timing limits in seconds (VDA 5050 ``protocolLimits.timing``)."""

    min_order_interval: float = 1.0
    min_state_interval: float = 0.1
    default_state_interval: float | None = 1.0

    def to_json(self) -> JsonDict:
        return drop_none({"minOrderInterval": self.min_order_interval,
                          "minStateInterval": self.min_state_interval,
                          "defaultStateInterval": self.default_state_interval})

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Timing:
        return cls(d["minOrderInterval"], d["minStateInterval"], d.get("defaultStateInterval"))


@dataclass(frozen=True, slots=True)
class AgvActionSpec:
    """An action type the robot supports; ``parameters`` maps key to valueDataType."""

    action_type: str
    scopes: tuple[str, ...]
    parameters: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None

    def to_json(self) -> JsonDict:
        d: JsonDict = {"actionType": self.action_type}
        if self.description is not None:
            d["actionDescription"] = self.description
        d["actionScopes"] = list(self.scopes)
        if self.parameters:
            d["actionParameters"] = [{"key": k, "valueDataType": t}
                                     for k, t in self.parameters.items()]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AgvActionSpec:
        params = {p["key"]: p["valueDataType"] for p in d.get("actionParameters", ())}
        return cls(d["actionType"], tuple(d["actionScopes"]), params, d.get("actionDescription"))


INSPECT_ACTION_SPEC = AgvActionSpec(
    "inspect", ("NODE",),
    {"inspectionPointId": "STRING", "sensors": "ARRAY", "durationSeconds": "NUMBER"},
    "Take readings with the listed sensors for durationSeconds at an inspection point.")
"""How an inspection robot declares the ``inspect`` action in its factsheet."""

FACTSHEET_REQUEST_SPEC = AgvActionSpec("factsheetRequest", ("INSTANT",))
CANCEL_ORDER_SPEC = AgvActionSpec("cancelOrder", ("INSTANT",))


@dataclass(frozen=True, slots=True)
class Factsheet:
    """A robot's factsheet; ``inspection`` is None for a robot that declares no capabilities.

    ``agv_geometry``, ``load_specification``, ``max_string_lens``, ``max_array_lens`` and
    ``vehicle_config`` are carried as plain JSON objects (this project does not use them).
    """

    TOPIC: ClassVar[Topic] = Topic.FACTSHEET

    header: Header
    type_specification: TypeSpecification
    physical_parameters: PhysicalParameters
    inspection: InspectionCapabilities | None = None
    timing: Timing = field(default_factory=Timing)
    agv_actions: tuple[AgvActionSpec, ...] = (
        INSPECT_ACTION_SPEC, FACTSHEET_REQUEST_SPEC, CANCEL_ORDER_SPEC)
    optional_parameters: tuple[Mapping[str, Any], ...] = ()
    max_string_lens: Mapping[str, Any] = field(default_factory=dict)
    max_array_lens: Mapping[str, Any] = field(default_factory=dict)
    agv_geometry: Mapping[str, Any] = field(default_factory=dict)
    load_specification: Mapping[str, Any] = field(default_factory=dict)
    vehicle_config: Mapping[str, Any] | None = None

    @property
    def speed_max(self) -> float:
        """Top speed in m/s (``physicalParameters.speedMax``)."""
        return self.physical_parameters.speed_max

    def supports(self, action_type: str) -> bool:
        """True when the factsheet lists ``action_type`` among its actions."""
        return any(a.action_type == action_type for a in self.agv_actions)

    @property
    def charges_on_order(self) -> bool:
        """Whether the robot offers ``startCharging`` as a node action and ``stopCharging``
        as an instant action: what a charging stop on its round needs."""
        scopes = {a.action_type: set(a.scopes) for a in self.agv_actions}
        return ("NODE" in scopes.get("startCharging", set())
                and "INSTANT" in scopes.get("stopCharging", set()))

    def to_json(self) -> JsonDict:
        d = self.header.to_json()
        d["typeSpecification"] = self.type_specification.to_json()
        d["physicalParameters"] = self.physical_parameters.to_json()
        d["protocolLimits"] = {"maxStringLens": dict(self.max_string_lens),
                               "maxArrayLens": dict(self.max_array_lens),
                               "timing": self.timing.to_json()}
        d["protocolFeatures"] = {
            "optionalParameters": [dict(p) for p in self.optional_parameters],
            "agvActions": [a.to_json() for a in self.agv_actions],
        }
        d["agvGeometry"] = dict(self.agv_geometry)
        d["loadSpecification"] = dict(self.load_specification)
        if self.vehicle_config is not None:
            d["vehicleConfig"] = dict(self.vehicle_config)
        if self.inspection is not None:
            d["inspection"] = self.inspection.to_json()
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Factsheet:
        """A factsheet from its JSON object; ProtocolError when it or its extension is invalid."""
        validate(cls.TOPIC, d)
        limits, features = d["protocolLimits"], d["protocolFeatures"]
        inspection = d.get("inspection")
        try:
            caps = InspectionCapabilities.from_json(inspection) if inspection is not None else None
        except ProtocolError as exc:
            raise ProtocolError(f"factsheet extension 'inspection': {exc}") from None
        return cls(
            header=Header.from_json(d),
            type_specification=TypeSpecification.from_json(d["typeSpecification"]),
            physical_parameters=PhysicalParameters.from_json(d["physicalParameters"]),
            inspection=caps,
            timing=Timing.from_json(limits["timing"]),
            agv_actions=tuple(AgvActionSpec.from_json(a) for a in features["agvActions"]),
            optional_parameters=tuple(features["optionalParameters"]),
            max_string_lens=limits["maxStringLens"],
            max_array_lens=limits["maxArrayLens"],
            agv_geometry=d["agvGeometry"],
            load_specification=d["loadSpecification"],
            vehicle_config=d.get("vehicleConfig"),
        )
