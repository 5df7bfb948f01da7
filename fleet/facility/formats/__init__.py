"""Map files by extension: ``.yaml``/``.yml`` (ours), ``.geojson`` (Nav2 route graph),
``.graph`` (patrolling_sim, read only), ``.csv`` (DARPA SubT edge list, read only).

:func:`load` and :func:`save` are the only entry points callers need; both raise
:class:`fleet.errors.MapError` with one problem per line for any bad input or unsupported
extension, and never anything else for a file's content.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fleet.errors import MapError, Problem
from fleet.facility.model import Facility

Reader = Callable[[str, str], Facility]
Writer = Callable[[Facility], str]


def _readers() -> dict[str, Reader]:
    from fleet.facility.formats import geojson, patrol_graph, subt_csv, yaml_map

    return {
        ".yaml": lambda text, file: yaml_map.read_yaml(text, file=file),
        ".yml": lambda text, file: yaml_map.read_yaml(text, file=file),
        ".geojson": lambda text, file: geojson.read_geojson(text, file=file),
        ".graph": lambda text, file: patrol_graph.read_patrol_graph(text, file=file),
        ".csv": lambda text, file: subt_csv.read_subt_csv(text, file=file),
    }


def _writers() -> dict[str, Writer]:
    from fleet.facility.formats import geojson, yaml_map

    return {".yaml": yaml_map.write_yaml, ".yml": yaml_map.write_yaml,
            ".geojson": geojson.write_geojson}


def read_formats() -> list[str]:
    """Extensions :func:`load` understands."""
    return sorted(_readers())


def write_formats() -> list[str]:
    """Extensions :func:`save` can write."""
    return sorted(_writers())


def parse(text: str, suffix: str, *, file: str | None = None) -> Facility:
    """A facility from text in the format named by ``suffix`` (such as ``".yaml"``)."""
    reader = _readers().get(suffix.lower())
    if reader is None:
        raise MapError(Problem(
            f"unsupported map format {suffix or '(no extension)'!r}; "
            f"readable: {', '.join(read_formats())}", file))
    return reader(text, file or f"<{suffix}>")


def load(path: str | Path) -> Facility:
    """Read a map file, choosing the format by extension."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MapError(Problem("no such file", str(p))) from None
    except IsADirectoryError:
        raise MapError(Problem("is a directory, not a map file", str(p))) from None
    except UnicodeDecodeError:
        raise MapError(Problem("not a text file (not UTF-8)", str(p))) from None
    except OSError as exc:
        raise MapError(Problem(f"cannot read: {exc.strerror}", str(p))) from None
    return parse(text, p.suffix, file=str(p))


def dump(fac: Facility, suffix: str, *, file: str | None = None) -> str:
    """A facility as text in the format named by ``suffix`` (``file`` names the target in
    error messages)."""
    writer = _writers().get(suffix.lower())
    if writer is None:
        raise MapError(Problem(
            f"cannot write map format {suffix or '(no extension)'!r}; "
            f"writable: {', '.join(write_formats())}", file))
    return writer(fac)


def save(fac: Facility, path: str | Path) -> None:
    """Write a map file, choosing the format by extension; the file is replaced whole."""
    p = Path(path)
    text = dump(fac, p.suffix, file=str(p))
    tmp = p.with_name(p.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
    except OSError as exc:
        raise MapError(Problem(f"cannot write: {exc.strerror}", str(p))) from None
