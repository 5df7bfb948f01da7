"""JSON-schema validation of wire messages: a fast compiled validator and the reference one.

The schemas live in ``fleet/protocol/schemas/``: the official VDA 5050 2.1.0 schemas (MIT,
copied verbatim from ``../shared/vda5050``) and our own extension schemas (``inspection``,
``inspectionAck``, ``factsheetInspection``, ``sensorReading``). :func:`load_schema` reads
them from the installed package, so validation works without ``../shared``.

Why a compiler of our own: ``jsonschema`` takes 2-4 ms to validate one realistic ``state``
message on this project's machines (its fastest class, Draft 4, still ~1.8 ms), while the
manager must ingest 5,000 states per second. :func:`compile_schema` turns a schema into
nested Python closures once; a state then validates in tens of microseconds. It supports the
keywords our schemas use (``type``, ``properties``, ``required``, ``items``, ``enum``,
``const``, ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``,
``minItems``, ``maxItems``, ``minLength``, ``maxLength``, ``pattern``,
``additionalProperties``, ``anyOf``, local ``$ref``) with Draft 2020-12 semantics, treats ``format``
as an annotation (as ``jsonschema`` does by default), ignores annotations, and refuses any
other keyword at compile time so nothing is silently skipped. The test suite checks on
random messages that it accepts exactly what :func:`reference_validator` (``jsonschema``'s
Draft 2020-12 validator) accepts.

Both kinds of validator are compiled once per schema and cached for the process.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from fleet.errors import ProtocolError

SCHEMA_PACKAGE = "fleet.protocol"
SCHEMA_DIR = "schemas"

OFFICIAL_SCHEMAS = ("connection", "factsheet", "instantActions", "order", "state",
                    "visualization")
"""The VDA 5050 2.1.0 schemas bundled verbatim."""

EXTENSION_SCHEMAS = ("inspection", "inspectionAck", "factsheetInspection", "sensorReading")
"""This project's own schemas, in the same style."""

_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "examples", "default", "format",
    "deprecated", "readOnly", "writeOnly", "definitions", "$defs", "subtopic", "unit",
})
_COMPILED_APART = frozenset({"type", "properties", "additionalProperties", "required"})


@dataclass
class Failure:
    """Why an instance is invalid; ``path`` is collected innermost first while unwinding."""

    reason: str
    path: list[str | int] = field(default_factory=list)

    def where(self) -> str:
        """The JSON path of the offending value, e.g. ``$.nodeStates[2].released``."""
        out = "$"
        for part in reversed(self.path):
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out

    def __str__(self) -> str:
        return f"{self.where()}: {self.reason}"


Check = Callable[[Any], Failure | None]
"""A compiled schema: returns None for a valid instance, else the first :class:`Failure`."""


def load_schema(name: str) -> dict[str, Any]:
    """A fresh copy of the bundled schema ``name`` (e.g. ``"state"``); ProtocolError if unknown."""
    return copy.deepcopy(_load_schema(name))


@cache
def _load_schema(name: str) -> dict[str, Any]:
    if name not in OFFICIAL_SCHEMAS and name not in EXTENSION_SCHEMAS:
        raise ProtocolError(f"no schema named {name!r}")
    path = resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_DIR, f"{name}.schema")
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


@cache
def fast_validator(name: str) -> Check:
    """The compiled validator of the bundled schema ``name`` (cached for the process)."""
    return compile_schema(_load_schema(name))


@cache
def reference_validator(name: str) -> Any:
    """``jsonschema``'s Draft 2020-12 validator of schema ``name`` (slow; cached)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_load_schema(name))


def validate(name: str, instance: Any) -> None:
    """Raise :class:`ProtocolError` naming the path and reason when ``instance`` is invalid."""
    failure = fast_validator(name)(instance)
    if failure is not None:
        raise ProtocolError(f"{name} message invalid at {failure}")


def compile_schema(schema: dict[str, Any] | bool) -> Check:
    """Compile ``schema`` (whose local ``$ref`` resolve against itself) into a :class:`Check`.

    Raises :class:`ProtocolError` for keywords outside the supported set, or a ``$ref``
    that is not a local JSON pointer.
    """
    return _Compiler(schema).compile(schema)


# -- type predicates, Draft 2020-12 semantics (bool is not a number; 1.0 is an integer) ------

def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and bool(x.is_integer()))


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "number": _is_number,
    "integer": _is_integer,
    "null": lambda x: x is None,
}


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema means it for enum and const: true is not 1, 1.0 is 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return a is None and b is None


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


_FAST_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "number": (int, float), "integer": (int,), "null": (type(None),),
}
"""Exact classes that certainly have each type (bool is its own class, so never a number)."""

_MISSING = object()


class _Compiler:
    """Compiles a schema into closures; a node also yields its *fast types*.

    A node's fast types are exact classes whose every instance the node accepts (non-empty
    only for a schema that is nothing but a ``type``). Parents test ``type(value) in fast``
    before calling the child, which skips a call for most leaves of a message.
    """

    def __init__(self, root: dict[str, Any] | bool) -> None:
        self._root = root
        self._refs: dict[str, Check] = {}

    def compile(self, schema: dict[str, Any] | bool) -> Check:
        return self._node(schema)[0]

    def _node(self, schema: dict[str, Any] | bool) -> tuple[Check, frozenset[type]]:
        if schema is True:
            return (lambda _x: None), frozenset()
        if schema is False:
            return (lambda _x: Failure("no value is allowed here")), frozenset()
        if not isinstance(schema, dict):
            raise ProtocolError(f"a schema must be an object or a boolean, got {schema!r}")
        type_check, fast = self._type(schema["type"]) if "type" in schema else (None, frozenset())
        enum = schema.get("enum")
        if schema.get("type") == "string" and enum and all(isinstance(v, str) for v in enum):
            type_check = None  # an enum of strings admits strings only: the type check is moot
        checks: list[Check] = []
        for key, value in schema.items():
            if key in _ANNOTATIONS or key in _COMPILED_APART:
                continue
            method = getattr(self, "_kw_" + key.replace("$", "dollar_"), None)
            if method is None:
                raise ProtocolError(f"schema keyword {key!r} is not supported by the compiler")
            checks.append(method(value))
        members = any(k in schema for k in ("properties", "additionalProperties", "required"))
        if members:
            checks.insert(0, self._object(schema, type_check))
        elif type_check is not None:
            # a wrong type makes every other keyword moot, so the type is checked first
            checks.insert(0, type_check)
        if checks != [type_check]:
            fast = frozenset()  # fast types stand for the whole node only when it is a bare type
        if not checks:
            return (lambda _x: None), frozenset()
        if len(checks) == 1:
            return checks[0], fast

        def check_all(x: Any) -> Failure | None:
            for check in checks:
                failure = check(x)
                if failure is not None:
                    return failure
            return None

        return check_all, fast

    def _type(self, value: str | list[str]) -> tuple[Check, frozenset[type]]:
        names = [value] if isinstance(value, str) else list(value)
        unknown = [n for n in names if n not in _TYPES]
        if unknown:
            raise ProtocolError(f"unknown schema type(s) {unknown}")
        predicates = [_TYPES[n] for n in names]
        wanted = " or ".join(names)
        fast = frozenset(c for n in names for c in _FAST_TYPES[n])

        def check_type(x: Any) -> Failure | None:
            if type(x) in fast:
                return None
            for predicate in predicates:
                if predicate(x):
                    return None
            return Failure(f"expected {wanted}, got {_show(x)}")

        return check_type, fast

    def _object(self, schema: dict[str, Any], type_check: Check | None) -> Check:
        """type, required, properties and additionalProperties of one object, in one closure."""
        props = {name: self._node(sub) for name, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        required_set = frozenset(required)
        extra_schema = schema.get("additionalProperties", True)
        extra = None if extra_schema is True else self._node(extra_schema)

        def check_object(x: Any) -> Failure | None:
            if type(x) is not dict:
                if type_check is not None:
                    failure = type_check(x)
                    if failure is not None:
                        return failure
                if not isinstance(x, dict):
                    return None  # the member keywords apply to objects only
            if not required_set <= x.keys():
                missing = next(name for name in required if name not in x)
                return Failure(f"missing required property {missing!r}")
            for name, value in x.items():
                entry = props.get(name, extra)
                if entry is None:
                    continue
                check, fast = entry
                if type(value) in fast:
                    continue
                failure = check(value)
                if failure is not None:
                    if entry is extra and extra_schema is False:
                        failure.reason = f"property {name!r} is not allowed"
                    failure.path.append(name)
                    return failure
            return None

        return check_object

    def _kw_items(self, value: Any) -> Check:
        item_check, fast = self._node(value)

        def check_items(x: Any) -> Failure | None:
            if isinstance(x, list):
                for i, item in enumerate(x):
                    if type(item) in fast:
                        continue
                    failure = item_check(item)
                    if failure is not None:
                        failure.path.append(i)
                        return failure
            return None

        return check_items

    def _kw_enum(self, value: list[Any]) -> Check:
        allowed = list(value)
        shown = ", ".join(_show(v) for v in allowed)
        if all(isinstance(v, str) for v in allowed):
            strings = frozenset(allowed)

            def check_enum_str(x: Any) -> Failure | None:
                if isinstance(x, str) and x in strings:
                    return None
                return Failure(f"{_show(x)} is not one of {shown}")

            return check_enum_str

        def check_enum(x: Any) -> Failure | None:
            if any(_json_equal(x, v) for v in allowed):
                return None
            return Failure(f"{_show(x)} is not one of {shown}")

        return check_enum

    def _kw_const(self, value: Any) -> Check:
        def check_const(x: Any) -> Failure | None:
            return None if _json_equal(x, value) else Failure(f"expected {_show(value)}")

        return check_const

    def _bound(self, limit: float, ok: Callable[[Any], bool], text: str) -> Check:
        def check_bound(x: Any) -> Failure | None:
            if _is_number(x) and not ok(x):
                return Failure(f"{_show(x)} is {text} {limit}")
            return None

        return check_bound

    def _kw_minimum(self, limit: float) -> Check:
        return self._bound(limit, lambda x: x >= limit, "less than")

    def _kw_maximum(self, limit: float) -> Check:
        return self._bound(limit, lambda x: x <= limit, "greater than")

    def _kw_exclusiveMinimum(self, limit: float) -> Check:  # noqa: N802
        return self._bound(limit, lambda x: x > limit, "not greater than")

    def _kw_exclusiveMaximum(self, limit: float) -> Check:  # noqa: N802
        return self._bound(limit, lambda x: x < limit, "not less than")

    def _length(self, kind: type, limit: int, ok: Callable[[int], bool], text: str) -> Check:
        def check_length(x: Any) -> Failure | None:
            if isinstance(x, kind) and not ok(len(x)):  # type: ignore[arg-type]
                return Failure(f"has {len(x)} {text} {limit}")  # type: ignore[arg-type]
            return None

        return check_length

    def _kw_minItems(self, limit: int) -> Check:  # noqa: N802
        return self._length(list, limit, lambda n: n >= limit, "items, fewer than")

    def _kw_maxItems(self, limit: int) -> Check:  # noqa: N802
        return self._length(list, limit, lambda n: n <= limit, "items, more than")

    def _kw_minLength(self, limit: int) -> Check:  # noqa: N802
        return self._length(str, limit, lambda n: n >= limit, "characters, fewer than")

    def _kw_maxLength(self, limit: int) -> Check:  # noqa: N802
        return self._length(str, limit, lambda n: n <= limit, "characters, more than")

    def _kw_pattern(self, pattern: str) -> Check:
        regex = re.compile(pattern)

        def check_pattern(x: Any) -> Failure | None:
            if isinstance(x, str) and regex.search(x) is None:
                return Failure(f"{_show(x)} does not match {pattern!r}")
            return None

        return check_pattern

    def _kw_anyOf(self, value: Any) -> Check:  # noqa: N802
        if not isinstance(value, list) or not value:
            raise ProtocolError("anyOf must be a non-empty array of schemas")
        branches = [self.compile(sub) for sub in value]

        def check_any_of(x: Any) -> Failure | None:
            first: Failure | None = None
            for branch in branches:
                failure = branch(x)
                if failure is None:
                    return None
                if first is None:
                    first = failure
            return Failure(f"none of the {len(branches)} anyOf alternatives holds "
                           f"(the first fails at {first})")

        return check_any_of

    def _kw_dollar_ref(self, ref: str) -> Check:
        if not ref.startswith("#"):
            raise ProtocolError(f"only local $ref are supported, got {ref!r}")
        if ref not in self._refs:
            # a placeholder first, so recursive schemas compile; it forwards once resolved
            resolved: list[Check] = []
            self._refs[ref] = lambda x: resolved[0](x)
            resolved.append(self.compile(self._resolve(ref)))
        return self._refs[ref]

    def _resolve(self, ref: str) -> dict[str, Any] | bool:
        node: Any = self._root
        pointer = ref[1:]
        if pointer:
            for token in pointer.lstrip("/").split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                if not isinstance(node, dict) or token not in node:
                    raise ProtocolError(f"$ref {ref!r} does not resolve")
                node = node[token]
        if not isinstance(node, dict | bool):
            raise ProtocolError(f"$ref {ref!r} does not point at a schema")
        return node
