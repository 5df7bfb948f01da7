"""The sample sites, missions, fleets and simulator scenarios that ship with the package.

The one place that knows where the samples are. In the repository they live at the top
level (``maps/``, ``missions/``, ``sim/scenarios/``); a wheel carries copies of them as
package data under ``fleet/_samples/`` in the same layout (``setup.py`` copies them at build
time), so the relative paths inside the files (``map: ../maps/coal_mine.yaml``) hold in
both. :func:`root` returns the installed copy when there is one and the source checkout
otherwise (an editable install, or ``PYTHONPATH`` on a clone).

A sample is named after its file with ``-`` for ``_`` and no suffix: ``coal-mine`` is
``maps/coal_mine.yaml``, ``coal-mine-gas-patrol`` is ``missions/coal_mine_gas_patrol.yaml``.
"""

from __future__ import annotations

import filecmp
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

import yaml

from fleet.errors import SampleError

DIRS: tuple[str, ...] = ("maps", "missions", "sim/scenarios")
"""Sample directories, relative to :func:`root` (and to the repository)."""

PACKAGED = "_samples"
"""The directory of :mod:`fleet` that holds the samples in a wheel."""

_REFERENCES = ("map", "mission", "fleet")
"""Keys by which a sample names another one (a path relative to itself)."""




class Kind(StrEnum):
    """What a sample file is."""

    MAP = "map"
    """A site map (``maps/README.md``)."""
    MISSION = "mission"
    """A mission file (``missions/README.md``)."""
    FLEET = "fleet"
    """A fleet file: robot classes and robots (``missions/README.md``)."""
    SCENARIO = "scenario"
    """A simulator scenario (``sim/scenarios/README.md``)."""


@dataclass(frozen=True)
class Sample:
    """One sample file. ``file`` is relative to :func:`root`, with ``/`` separators;
    ``references`` are the ``file`` values of the samples it names."""

    name: str
    kind: Kind
    file: str
    description: str
    references: tuple[str, ...] = field(default=())

    def path(self) -> Path:
        """The file on disk."""
        return _as_path(root().joinpath(*self.file.split("/")))

    def to_json(self) -> dict[str, str]:
        """What ``fleet samples --json`` shows."""
        return {"name": self.name, "kind": self.kind.value, "file": self.file,
                "description": self.description}


def root() -> Traversable:
    """Where the samples are: the package's copy, else the source checkout.

    SampleError when neither exists (a wheel built without them)."""
    packaged = resources.files("fleet").joinpath(PACKAGED)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent
    if all((checkout / d).is_dir() for d in DIRS):
        return checkout
    raise SampleError("the sample files are not installed with this copy of fleet "
                      f"(looked in {packaged} and {checkout})")


def catalogue() -> list[Sample]:
    """Every sample, maps first, then missions and fleets, then scenarios; by name."""
    base = root()
    out: list[Sample] = []
    for d in DIRS:
        folder = base.joinpath(*d.split("/"))
        files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")),
                       key=lambda f: f.name)
        out.extend(_sample(d, f) for f in files)
    return out


def sample(name: str) -> Sample:
    """The sample called ``name`` (or whose ``file`` is ``name``); SampleError otherwise."""
    everything = catalogue()
    for s in everything:
        if name in (s.name, s.file):
            return s
    raise SampleError(f"no sample {name!r}; `fleet samples` lists them")


def path(name: str) -> Path:
    """The file of the sample called ``name``; SampleError when there is none."""
    return sample(name).path()


def resolve(given: Path) -> Path:
    """``given`` when it exists; else the sample it names (``coal-mine-gas-patrol`` or
    ``missions/coal_mine_gas_patrol.yaml``); else ``given`` unchanged, for the caller's
    own "no such file" error."""
    if given.exists():
        return given
    try:
        return sample(given.as_posix()).path()
    except SampleError:
        return given


def bundle(name: str) -> list[Sample]:
    """The samples that ``fleet samples copy NAME`` copies: the sample, everything it
    names (its map, mission, fleet), and for a map every sample that names the map, with
    what those name in turn."""
    everything = {s.file: s for s in catalogue()}
    first = sample(name)
    wanted = {first.file}
    if first.kind is Kind.MAP:
        wanted |= {s.file for s in everything.values() if first.file in s.references}
    todo = list(wanted)
    while todo:
        for ref in everything[todo.pop()].references:
            if ref in everything and ref not in wanted:
                wanted.add(ref)
                todo.append(ref)
    return [s for s in everything.values() if s.file in wanted]


@dataclass
class Copied:
    """What :func:`copy` did, file by file (paths in the destination)."""

    written: list[Path] = field(default_factory=list)
    """New files, or files replaced with ``overwrite``."""
    unchanged: list[Path] = field(default_factory=list)
    """Files that were there already with the same content."""
    kept: list[Path] = field(default_factory=list)
    """Files that were there with other content and were left alone."""


def copy(name: str, dest: Path, *, overwrite: bool = False) -> Copied:
    """Copy the :func:`bundle` of ``name`` into ``dest`` in the repository's layout
    (``dest/maps``, ``dest/missions``, ``dest/sim/scenarios``), so that the paths inside
    the files still hold. An existing file with other content is kept unless
    ``overwrite``; :class:`Copied` says which. OSError when ``dest`` cannot be written."""
    done = Copied()
    for s in bundle(name):
        source = s.path()
        target = dest.joinpath(*s.file.split("/"))
        if target.exists():
            if target.is_file() and filecmp.cmp(source, target, shallow=False):
                done.unchanged.append(target)
                continue
            if not overwrite:
                done.kept.append(target)
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        done.written.append(target)
    return done


# ------------------------------------------------------------------ reading the files
def _sample(directory: str, f: Traversable) -> Sample:
    text = f.read_text(encoding="utf-8")
    file = f"{directory}/{f.name}"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    doc = doc if isinstance(doc, dict) else {}
    if directory == "maps":
        kind = Kind.MAP
    elif directory == "sim/scenarios":
        kind = Kind.SCENARIO
    else:
        kind = Kind.MISSION if "tasks" in doc or "map" in doc else Kind.FLEET
    return Sample(name=f.name.removesuffix(".yaml").replace("_", "-"), kind=kind, file=file,
                  description=_description(doc, text),
                  references=tuple(_references(directory, doc)))


def _references(directory: str, doc: dict[object, object]) -> Iterable[str]:
    for key in _REFERENCES:
        value = doc.get(key)
        if isinstance(value, str) and value:
            yield _normalise(PurePosixPath(directory) / value)


def _normalise(p: PurePosixPath) -> str:
    parts: list[str] = []
    for part in p.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _description(doc: dict[object, object], text: str) -> str:
    """The ``description`` field, else the first sentence of the leading comment."""
    given = doc.get("description")
    if isinstance(given, str) and given.strip():
        return given.strip()
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    words = " ".join(lines)
    words = words.split(". ")[0].rstrip(".")
    return words if len(words) <= 100 else words[:99].rstrip() + "…"


def _as_path(t: Traversable) -> Path:
    # the loaders resolve relative paths inside the files, so they need real files; every
    # install that pip makes (wheel or editable) has them
    if isinstance(t, Path):
        return t
    raise SampleError(f"sample {t} is not a file on disk (a zipped install is not supported)")
