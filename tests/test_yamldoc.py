"""The one YAML document reader (fleet.yamldoc): lines kept, one-line located problems,
never an error from outside the project's tree."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet import yamldoc
from fleet.errors import MapError, MissionError, line_of
from sim.errors import ScenarioError

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_scalars = (st.none() | st.booleans() | st.integers()
            | st.floats(allow_nan=False) | st.text(max_size=20))
_keys = st.text(max_size=12) | st.integers()
_data = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20)


@FAST
@given(st.dictionaries(_keys, _data, max_size=6))
def test_any_mapping_dumped_reads_back_the_same(doc: dict[Any, Any]) -> None:
    assert yamldoc.parse(yamldoc.dump(doc)) == doc


@FAST
@given(st.dictionaries(_keys, _data, max_size=6))
def test_what_it_read_it_writes_back(doc: dict[Any, Any]) -> None:
    once = yamldoc.parse(yamldoc.dump(doc))
    assert yamldoc.parse(yamldoc.dump(once)) == once


_yamlish = st.text(alphabet=st.sampled_from(list("abc:-[]{}?!&*|>'\"#%@`,. \n\t0123456789"))
                   | st.characters(), max_size=80)


@FAST
@given(_yamlish, st.sampled_from([MapError, MissionError, ScenarioError]))
def test_malformed_yaml_is_only_ever_the_callers_error(text: str, error: Any) -> None:
    try:
        yamldoc.parse(text, file="x.yaml", error=error)
    except error as exc:
        assert len(exc.problems) == 1
        line = str(exc.problems[0])
        assert "\n" not in line and line.startswith("x.yaml")


@pytest.mark.parametrize("text", [
    "nodes: [{id: a, x: 1, y: 2, when: 2024-13-45}]",  # a bad timestamp: a ValueError inside
    "? [a, b]\n: 1\n",                                   # an unhashable key
    "[" * 500,                                           # too deep
    "a: !!python/object:os.system {}\n",                # not the safe subset
    "a: *nowhere\n",                                     # an unknown alias
])
def test_awkward_yaml_is_one_plain_problem(text: str) -> None:
    with pytest.raises(MissionError) as info:
        yamldoc.parse(text, file="m.yaml", error=MissionError)
    (problem,) = info.value.problems
    assert problem.reason.startswith("not valid YAML") and "\n" not in str(problem)


def test_a_syntax_error_is_one_line_with_its_file_and_line() -> None:
    with pytest.raises(MapError) as info:
        yamldoc.parse("a: 1\nb: [1, 2\nc: 3\n", file="site.yaml")
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("site.yaml:") and info.value.problems[0].line is not None


def test_lines_of_mappings_lists_and_keys() -> None:
    doc = yamldoc.parse("name: x\ntasks:\n  - points: [a]\n    sensors: [ch4]\n  - zones: z\n")
    assert line_of(doc) == 1 and line_of(doc, "tasks") == 2
    assert line_of(doc["tasks"]) == 3
    assert [line_of(t) for t in doc["tasks"]] == [3, 5]
    assert line_of(doc["tasks"][0], "sensors") == 4
    assert line_of(doc, "nowhere") == 1          # an unknown key: the mapping's line
    assert line_of({"plain": 1}, "plain") is None  # plain data has no lines


def test_read_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        yamldoc.read(tmp_path / "missing.yaml", error=ScenarioError)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(MissionError, match="cannot read"):
        yamldoc.read(bad, error=MissionError)
    bad.write_text("a: {b: 1.5}\n")
    assert yamldoc.read(bad, error=MissionError) == {"a": {"b": 1.5}}
    bad.write_text("")
    assert yamldoc.read(bad, error=MissionError) is None


def test_special_floats_survive() -> None:
    doc = yamldoc.parse(yamldoc.dump({"a": math.inf, "b": -math.inf}))
    assert doc == {"a": math.inf, "b": -math.inf}
