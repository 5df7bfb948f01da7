"""Hypothesis strategies and checks shared by the map-format tests.

Every importer must turn any text into either a :class:`Facility` or a :class:`MapError`
whose problems are plain one-line reasons; :func:`check_reader` asserts exactly that.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from fleet.errors import MapError
from fleet.facility.model import EdgeKind, Facility, NodeKind, ZoneKind
from fleet.facility.protection import MaOnlyReason, SiteKind

ROOT = Path(__file__).resolve().parents[2]
DATA_MAPS = ROOT / "tests" / "data" / "maps"
ROUNDTRIP = DATA_MAPS / "formats_roundtrip.yaml"
SHARED = ROOT.parent / "shared"

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Fast enough for the default suite (a second or two per test)."""
FUZZ_DOCS = settings(FUZZ, max_examples=100)
"""For examples that build whole facilities (tens of milliseconds each)."""

_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(value: Any) -> str:
    """YAML text of a plain value (the C dumper when present: these tests dump a lot)."""
    return yaml.dump(value, Dumper=_YAML_DUMPER)

Reader = Callable[..., Facility]


def check_reader(reader: Reader, text: str) -> Facility | None:
    """Read ``text``; a facility or a MapError of plain one-line reasons, nothing else."""
    try:
        return reader(text, file="fuzz")
    except MapError as exc:
        assert exc.problems, "a MapError must carry at least one problem"
        for p in exc.problems:
            assert isinstance(p.reason, str) and p.reason.strip(), p
            assert "\n" not in p.reason, p
            assert "Traceback" not in p.reason, p
        return None


# ------------------------------------------------------------------ plain values
_texts = st.text(alphabet=string.ascii_letters + string.digits + " -_.:,#'\"[]{}\n\\", max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats()
    | _texts
    | st.sampled_from(
        [k.value for k in (*NodeKind, *EdgeKind, *ZoneKind)] + ["0", "1", "L1", "dock"]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
    max_leaves=8,
)
"""Anything JSON or YAML could hold (NaN and infinities included)."""

ids = st.sampled_from(["a", "b", "c", "d", "1", "2"]) | st.integers(0, 3) | scalars
numbers = st.integers(-50, 50) | st.floats(-1e3, 1e3) | scalars
points = st.lists(st.lists(numbers, min_size=2, max_size=2), max_size=5) | json_values


@st.composite
def map_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Map documents that are nearly right: real field names, mostly plausible values."""

    def maybe(key: str, strategy: st.SearchStrategy[Any], into: dict[str, Any]) -> None:
        if draw(st.booleans()):
            into[key] = draw(strategy)

    doc: dict[str, Any] = {}
    maybe("format", st.just("inspection-fleet-map/1") | scalars, doc)
    maybe("site", st.fixed_dictionaries({}, optional={
        "name": scalars, "description": scalars, "meta": json_values,
        "kind": st.sampled_from([k.value for k in SiteKind]) | scalars,
        "firedamp": st.booleans() | scalars}), doc)
    levels = st.fixed_dictionaries({"id": ids}, optional={"name": scalars, "z": numbers})
    maybe("levels", st.lists(levels, max_size=3), doc)
    node = st.fixed_dictionaries(
        {"id": ids, "x": numbers, "y": numbers},
        optional={
            "z": numbers, "level": ids, "tags": st.lists(_texts, max_size=2) | scalars,
            "name": scalars,
            "kind": st.sampled_from([k.value for k in NodeKind]) | scalars,
        },
    )
    doc["nodes"] = draw(st.lists(node, max_size=6))
    edge = st.fixed_dictionaries(
        {"from": ids, "to": ids},
        optional={
            "length": numbers, "max_speed": numbers, "cost": numbers,
            "kind": st.sampled_from([k.value for k in EdgeKind]) | scalars,
            "single_lane": st.booleans() | scalars, "one_way": st.booleans() | scalars,
            "closed": st.booleans() | scalars,
        },
    )
    doc["edges"] = draw(st.lists(edge, max_size=6))
    zone = st.fixed_dictionaries(
        {"id": ids, "kind": st.sampled_from([k.value for k in ZoneKind]) | scalars,
         "polygon": points},
        optional={"level": ids, "atex_zone": st.integers(-1, 3) | scalars,
                  "gas": scalars, "max_speed": numbers, "capability": scalars,
                  "reason": st.sampled_from([r.value for r in MaOnlyReason]) | scalars},
    )
    maybe("zones", st.lists(zone, max_size=3), doc)
    return doc


# --------------------------------------------------------------------- mutations
@st.composite
def mutated(draw: st.DrawFn, original: Any, *, max_mutations: int = 3) -> Any:
    """A copy of a parsed document with a few random edits: a field or item deleted,
    duplicated, replaced by any value, or changed to another type."""
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, max_mutations))):
        parent, key = _pick(draw, doc)
        if parent is None:
            return draw(json_values)
        action = draw(st.sampled_from(["delete", "duplicate", "replace", "retype"]))
        value = parent[key]
        if action == "delete":
            del parent[key]
        elif action == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, copy.deepcopy(value))
            else:
                parent[draw(_texts | st.sampled_from(list(parent)))] = copy.deepcopy(value)
        elif action == "replace":
            parent[key] = draw(json_values)
        else:
            parent[key] = _retype(value)
    return doc


def _pick(draw: st.DrawFn, doc: Any) -> tuple[Any, Any]:
    """A random (container, key) inside ``doc``, or ``(None, None)`` for the root."""
    parent: Any = None
    key: Any = None
    node = doc
    while isinstance(node, dict | list) and len(node) > 0:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        chosen = draw(st.sampled_from(keys))
        parent, key, node = node, chosen, node[chosen]
        if not draw(st.booleans()):
            break
    return parent, key


def _retype(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return [value]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return 0


@st.composite
def text_mutated(draw: st.DrawFn, original: str) -> str:
    """A copy of a text file with a few random line and word edits."""
    lines = original.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            lines.append(draw(_texts))
            continue
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "replace", "word", "truncate"]))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "replace":
            lines[i] = draw(_texts)
        elif action == "word":
            words = lines[i].replace(",", " , ").split(" ")
            j = draw(st.integers(0, len(words) - 1))
            words[j] = draw(_texts | st.sampled_from(["-1", "0", "1e400", "nan", "", "x"]))
            lines[i] = " ".join(words).replace(" , ", ",")
        else:
            lines = lines[:i]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))
