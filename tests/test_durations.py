"""Written durations: the forms read, the forms refused, and writing back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1h 30m", 5400),
    ("1.5h", 5400), ("2d", 172_800), ("1d2h3m4s", 93_784), (" 45s ", 45), ("0.5s", 0.5),
])
def test_forms_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", "  ", "30", "m", "30x", "30M", "30m1h", "1h1h", "-5m", "0s", "0h0m", "1h30",
    "h30m", "1e9999h", "30 m", "1,5h",
])
def test_forms_refused_with_the_text_quoted(text: str) -> None:
    with pytest.raises(ValueError, match="duration") as info:
        parse_duration(text)
    assert "\n" not in str(info.value)


def test_non_text_is_refused() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(30)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [
    (5400, "1h30m"), (0.4, "0s"), (90_061, "1d1h1m1s"), (60, "1m"), (7200.2, "2h")])
def test_written_back(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(1, 10**8))
def test_whole_seconds_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.text(max_size=30))
def test_any_text_gives_seconds_or_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert seconds > 0
