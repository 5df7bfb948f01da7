"""Durations as people write them in files and on the command line: ``90s``, ``30m``,
``2h``, ``1h30m``, ``1.5h``, ``2d``.

:func:`parse_duration` is the one reader (mission files' ``revisit``; anything else that
takes a written duration should use it too) and :func:`format_duration` writes seconds
back in the same spelling. What a caller may rely on:

- a duration is one or more ``NUMBER UNIT`` parts, units ``d`` (86 400 s), ``h``, ``m``
  and ``s``, each unit at most once and in that order (``1h30m``, not ``30m1h``); spaces
  between parts are allowed (``1h 30m``), numbers may have a decimal part (``1.5h``);
- a bare number is refused: without a unit ``30`` could mean seconds or minutes;
- the result is a finite number of seconds greater than zero;
- anything else raises ``ValueError`` whose message quotes the text and shows the form
  (callers put it on their own one-line error, naming their field).
"""

from __future__ import annotations

import math
import re

UNITS: dict[str, float] = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
"""Seconds per unit, largest first (the order parts must be written in)."""

_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_DURATION = re.compile(
    r"^\s*" + r"\s*".join(f"(?:{_NUMBER}{unit})?" for unit in UNITS) + r"\s*$")

FORM = "a duration such as 90s, 30m, 2h or 1h30m"
"""How a duration is written, for error messages."""


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (see the module docstring); ``ValueError`` when it is not a
    duration, is zero or is too large to be finite."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not {FORM}")
    match = _DURATION.match(text)
    if match is None or not any(match.groups()):
        raise ValueError(f"{text[:40]!r} is not {FORM}")
    seconds = sum(float(value) * UNITS[unit]
                  for value, unit in zip(match.groups(), UNITS, strict=True) if value)
    if not math.isfinite(seconds):
        raise ValueError(f"{text[:40]!r} is too long a duration")
    if seconds <= 0:
        raise ValueError(f"{text[:40]!r} is not a positive duration")
    return seconds


def format_duration(seconds: float) -> str:
    """``seconds`` written as :func:`parse_duration` reads it, to the whole second
    (``5400`` -> ``"1h30m"``, ``0.4`` -> ``"0s"``, ``90061`` -> ``"1d1h1m1s"``)."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot write {seconds!r} seconds as a duration")
    left = round(seconds)
    parts: list[str] = []
    for unit, size in UNITS.items():
        count, left = divmod(left, int(size))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
