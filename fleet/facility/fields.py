"""Reading the fields of a parsed document: every bad field becomes a located, one-line
:class:`fleet.errors.Problem`, and reading goes on so that all of them are reported at once.

Used by the map document (:mod:`fleet.facility.document`); the methods return ``None`` for
a field that is absent or bad (a bad one is reported).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fleet.errors import Problem, line_of
from fleet.facility.model import EdgeKind, NodeKind, ZoneKind
from fleet.facility.protection import MaOnlyReason, SiteKind

E = TypeVar("E", NodeKind, EdgeKind, ZoneKind, SiteKind, MaOnlyReason)


@dataclass
class FieldReader:
    """Reads the fields of one element of a document, collecting a located problem for
    each bad one instead of stopping at the first."""

    file: str | None
    problems: list[Problem]
    element: str | None = None
    line: int | None = None

    def at(self, element: str | None, obj: object) -> FieldReader:
        """A reader for ``element``, located at ``obj``'s line (else this reader's)."""
        return FieldReader(self.file, self.problems, element, line_of(obj) or self.line)

    def fail(self, reason: str) -> None:
        """Report a problem of this element."""
        self.problems.append(Problem(reason, self.file, self.line, self.element))

    def mapping(self, obj: object, what: str) -> Mapping[str, Any] | None:
        """``obj`` when it is a mapping, else reported and ``None``."""
        if not isinstance(obj, Mapping):
            self.fail(f"{what} must be a mapping, got {kind_of(obj)}")
            return None
        return obj

    def known(self, obj: Mapping[str, Any], what: str, allowed: set[str]) -> None:
        """Report fields the format does not have (typos would otherwise pass silently)."""
        for key in obj:
            if not isinstance(key, str) or key not in allowed:
                self.fail(f"unknown field {key!r} in {what}")

    def ident(self, obj: Mapping[str, Any], key: str, what: str) -> str | None:
        """A required, non-empty id (a string or an integer, returned as a string)."""
        value = obj.get(key)
        if value is None:
            self.fail(f"{what} without {key}")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(f"{what} {key} must be a string, got {kind_of(value)}")
            return None
        text = str(value)
        if not text.strip():
            self.fail(f"{what} {key} is empty")
            return None
        return text

    def number(
        self, obj: Mapping[str, Any], key: str, *, required: bool = False
    ) -> float | None:
        """A finite number (``required``: its absence is reported too)."""
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(f"missing {key}")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"{key} must be a number, got {kind_of(value)}")
            return None
        number = float(value)
        if not math.isfinite(number):
            self.fail(f"{key} must be finite, got {value!r}")
            return None
        return number

    def count(self, obj: Mapping[str, Any], key: str) -> int | None:
        """A positive integer (``None`` when absent; reported when anything else)."""
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(f"{key} must be a positive integer, got {value!r}")
            return None
        return value

    def declared(self, obj: Mapping[str, Any], key: str) -> bool | None:
        """True or false when given, ``None`` when absent (anything else is reported)."""
        value = obj.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.fail(f"{key} must be true or false, got {kind_of(value)}")
        return None

    def flag(self, obj: Mapping[str, Any], key: str) -> bool:
        """True or false; absent is false."""
        value = obj.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(f"{key} must be true or false, got {kind_of(value)}")
            return False
        return value

    def text(self, obj: Mapping[str, Any], key: str) -> str | None:
        """A string (numbers are taken as their text)."""
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.fail(f"{key} must be a string, got {kind_of(value)}")
            return None
        return str(value)

    def option(self, obj: Mapping[str, Any], key: str, enum: type[E]) -> E | None:
        """One of ``enum``'s values when given, ``None`` when absent or unknown (reported
        with the expected values)."""
        if obj.get(key) is None:
            return None
        return self.choice(obj, key, enum, None)

    def choice(
        self, obj: Mapping[str, Any], key: str, enum: type[E], default: E | None
    ) -> E | None:
        """One of ``enum``'s values; ``default`` when absent (with no default, absence
        is reported)."""
        value = obj.get(key)
        if value is None:
            if default is None:
                self.fail(f"missing {key}")
            return default
        try:
            return enum(value)
        except ValueError:
            options = ", ".join(m.value for m in enum)
            self.fail(f"unknown {key} {value!r} (expected one of: {options})")
            return None


def kind_of(value: object) -> str:
    """What a value is, for messages: "a mapping", "a list", "nothing", ..."""
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    ) if not isinstance(value, Mapping) else "a mapping"


def items(r: FieldReader, doc: Mapping[str, Any], key: str) -> list[Any]:
    """The list under ``key`` (empty when absent; reported and empty when not a list)."""
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        r.at(None, value).fail(f"{key} must be a list, got {kind_of(value)}")
        return []
    return value
