"""Plain-text tables for the CLI: columns as wide as their widest cell, so that long robot
serials or mission names never push the columns after them out of line."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import typer

GAP = "  "
"""Between two columns."""


def table_lines(headers: Sequence[str], rows: Iterable[Sequence[str]], *,
                right: Collection[str] = ()) -> list[str]:
    """The table as lines: a header, then one line per row. Columns named in ``right`` are
    right-aligned (numbers); the last column is not padded."""
    body = [[str(c) for c in r] for r in rows]
    for r in body:
        if len(r) != len(headers):
            raise ValueError(f"row {r!r} has {len(r)} cells for {len(headers)} columns")
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]
    out = []
    for cells in [list(headers), *body]:
        parts = []
        for i, (cell, h) in enumerate(zip(cells, headers, strict=True)):
            if h in right:
                parts.append(cell.rjust(widths[i]))
            elif i == len(headers) - 1:
                parts.append(cell)
            else:
                parts.append(cell.ljust(widths[i]))
        out.append(GAP.join(parts).rstrip())
    return out


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]], *,
                right: Collection[str] = ()) -> None:
    """Echo :func:`table_lines`."""
    for line in table_lines(headers, rows, right=right):
        typer.echo(line)
