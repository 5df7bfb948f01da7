"""VDA 5050 versions: which one a robot speaks, and its messages in that version's shapes.

Robots in the field speak VDA 5050 2.0 or 2.1 (most of them 2.0). Every message says its
version in the header (``"version": "2.0.0"``); the manager learns each robot's version
from what it sends (:func:`read`) and answers in it (:func:`shaped`). The core works on the
2.1 models only: a 2.0 message is checked against the official 2.0.0 schemas, then lifted
to the 2.1 shapes (:func:`lift`); what goes to a 2.0 robot is lowered to the 2.0 shapes and
checked against the 2.0.0 schemas before it leaves (:func:`lower`). Any other version is
refused with a reason naming it (:class:`~fleet.errors.ProtocolError`).

The differences handled (docs/protocol.md, "Versions"), from the two official schema sets
(``fleet/protocol/schemas/`` holds 2.1.0, ``schemas/2.0.0/`` holds 2.0.0, both verbatim):

- ``instantActions``: the 2.0.0 schema names an action's type ``actionName`` (the 2.0 text
  says ``actionType``; 2.1.0 fixed the schema). To a 2.0 robot both are sent, equal, so a
  robot built from either the text or the schema reads it; from a 2.0 robot either is read.
- ``order``: node positions say ``allowedDeviationXy`` in 2.0 (``allowedDeviationXY`` in
  2.1); edges' ``corridor`` and ``orientationType`` are 2.1 only (left out for 2.0); an
  action parameter's value may not be an object in 2.0 (sent as its JSON text instead).
- ``factsheet``: the 2.0.0 schema file is malformed: its property definitions sit at the
  top level instead of under ``properties`` (and so do those of
  ``protocolLimits.maxArrayLens``), so as published it checks only the required keys. It
  is checked here as evidently meant (:func:`_repaired_factsheet`); its enum typo
  ``PHYSICAL_LINDE_GUIDED`` and field typo ``maxWeigth`` are lifted to 2.1's spellings.
- ``state``: 2.0 states are 2.1 states without ``maps`` and ``errorHint``; integers where
  2.1 allows numbers. Nothing to lift.
- ``connection`` and ``visualization``: the same in both.

Our extension topics (``inspection``, ``inspectionAck``) have one schema for both versions.
"""

from __future__ import annotations

import copy
import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from fleet.errors import ProtocolError
from fleet.protocol.keys import Topic
from fleet.protocol.validation import (
    OFFICIAL_SCHEMAS,
    SCHEMA_DIR,
    SCHEMA_PACKAGE,
    Check,
    compile_schema,
    validate,
)


class Version(StrEnum):
    """The VDA 5050 versions the manager speaks (the header's ``version`` it sends)."""

    V2_0 = "2.0.0"
    V2_1 = "2.1.0"


DEFAULT = Version.V2_1
"""What a robot never heard from is spoken to in."""

_BY_MINOR = {"2.0": Version.V2_0, "2.1": Version.V2_1}


def version_of(text: object) -> Version:
    """The supported version a header's ``version`` names: any patch of 2.0 or 2.1
    (``"2.0.1"`` is 2.0: patches do not change the messages). ProtocolError otherwise,
    naming the version and what is spoken."""
    if isinstance(text, str):
        parts = text.split(".")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            found = _BY_MINOR.get(f"{parts[0]}.{parts[1]}")
            if found is not None:
                return found
    raise ProtocolError(f"VDA 5050 version {text!r} is not supported: this manager speaks "
                        "2.0.x and 2.1.x")


def read(topic: Topic, obj: dict[str, Any]) -> Version:
    """The version of a robot's message ``obj`` on ``topic`` (a JSON object), after checking
    a 2.0 message of an official topic against its 2.0.0 schema. A 2.1 message is left to
    the 2.1 models, which check it as before. ProtocolError naming the reason."""
    version = version_of(obj.get("version"))
    if version is Version.V2_0 and topic.value in OFFICIAL_SCHEMAS:
        failure = _validator_2_0(topic.value)(obj)
        if failure is not None:
            raise ProtocolError(f"{topic} message (VDA 5050 2.0) invalid at {failure}")
    return version


def lift(topic: Topic, obj: dict[str, Any], version: Version) -> dict[str, Any]:
    """A checked message of ``version`` in the 2.1 shapes the models read (``obj`` itself
    when nothing changes; a copy otherwise)."""
    if version is Version.V2_1:
        return obj
    if topic is Topic.FACTSHEET:
        obj = copy.deepcopy(obj)
        kinds = obj.get("typeSpecification", {}).get("navigationTypes")
        if isinstance(kinds, list):
            obj["typeSpecification"]["navigationTypes"] = [
                "PHYSICAL_LINE_GUIDED" if k == "PHYSICAL_LINDE_GUIDED" else k for k in kinds]
        for load_set in obj.get("loadSpecification", {}).get("loadSets", ()):
            if isinstance(load_set, dict) and "maxWeigth" in load_set:
                load_set["maxWeight"] = load_set.pop("maxWeigth")
    elif topic is Topic.INSTANT_ACTIONS:
        obj = copy.deepcopy(obj)
        for action in obj.get("actions", ()):
            if "actionType" not in action and "actionName" in action:
                action["actionType"] = action["actionName"]
    return obj


def lower(topic: Topic, obj: dict[str, Any], version: Version) -> dict[str, Any]:
    """A message the manager sends (2.1 JSON) in ``version``'s shapes, its header saying
    ``version``; for 2.0, checked against the 2.0.0 schema (an extension topic against its
    own), ProtocolError if it is not valid: a bug, never sent."""
    if version is Version.V2_1:
        return obj
    out = copy.deepcopy(obj)
    out["version"] = version.value
    if topic is Topic.ORDER:
        for node in out.get("nodes", ()):
            position = node.get("nodePosition")
            if position is not None and "allowedDeviationXY" in position:
                position["allowedDeviationXy"] = position.pop("allowedDeviationXY")
            _lower_actions(node.get("actions", ()))
        for edge in out.get("edges", ()):
            edge.pop("corridor", None)
            edge.pop("orientationType", None)
            _lower_actions(edge.get("actions", ()))
    elif topic is Topic.INSTANT_ACTIONS:
        _lower_actions(out.get("actions", ()))
        for action in out.get("actions", ()):
            action["actionName"] = action["actionType"]
    if topic.value not in OFFICIAL_SCHEMAS:
        validate(topic.value, out)  # an extension topic: one schema for both versions
        return out
    failure = _validator_2_0(topic.value)(out)
    if failure is not None:
        raise ProtocolError(f"{topic} message for VDA 5050 2.0 invalid at {failure}")
    return out


def _lower_actions(actions: Any) -> None:
    """Object-valued action parameters as their JSON text (2.0 allows no objects)."""
    for action in actions:
        for parameter in action.get("actionParameters", ()):
            if isinstance(parameter.get("value"), dict):
                parameter["value"] = json.dumps(parameter["value"], separators=(",", ":"))


def schema_2_0(name: str) -> dict[str, Any]:
    """The official 2.0.0 schema ``name`` as checked here (the factsheet's repaired, see
    the module docstring); a fresh copy. ProtocolError for a name that is not official."""
    return copy.deepcopy(_schema_2_0(name))


@cache
def _schema_2_0(name: str) -> dict[str, Any]:
    if name not in OFFICIAL_SCHEMAS:
        raise ProtocolError(f"no VDA 5050 2.0.0 schema named {name!r}")
    path = resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_DIR, Version.V2_0.value,
                                                     f"{name}.schema")
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return _repaired_factsheet(doc) if name == "factsheet" else doc


_SCHEMA_KEYWORDS = frozenset({"$schema", "$id", "title", "description", "type", "required",
                              "subtopic", "properties", "items", "examples"})


def _repaired_factsheet(doc: dict[str, Any]) -> dict[str, Any]:
    """The 2.0.0 factsheet schema with its stray property definitions under ``properties``
    (at the top and in ``protocolLimits.maxArrayLens``), as 2.1.0 has them."""
    def wrap(node: dict[str, Any]) -> dict[str, Any]:
        stray = {k: v for k, v in node.items() if k not in _SCHEMA_KEYWORDS}
        kept = {k: v for k, v in node.items() if k in _SCHEMA_KEYWORDS}
        return {**kept, "properties": {**kept.get("properties", {}), **stray}} if stray else node

    doc = wrap(doc)
    limits = doc["properties"].get("protocolLimits", {}).get("properties", {})
    if "maxArrayLens" in limits:
        limits["maxArrayLens"] = wrap(limits["maxArrayLens"])
    return doc


@cache
def _validator_2_0(name: str) -> Check:
    return compile_schema(_schema_2_0(name))
