"""Help that reads well: no paragraph of any command's help is broken mid-sentence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fleet.cli.helptext import flow
from fleet.cli.main import app

ITEM = re.compile(r"^\s*([-*•]|\d+[.)])\s")


def _commands() -> Iterator[tuple[list[str], Any]]:
    def walk(path: list[str], cmd: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, cmd
        if hasattr(cmd, "commands"):
            for name, sub in sorted(cmd.commands.items()):
                yield from walk([*path, name], sub)

    yield from walk([], typer.main.get_command(app))


COMMANDS = list(_commands())


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text.strip()) if p]


def test_every_command_is_walked_and_has_help() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "plan", "demo", "robots", "robots show", "samples", "samples copy",
            "mission list", "map info"} <= names
    assert all(cmd.help for path, cmd in COMMANDS if path), [
        " ".join(p) for p, c in COMMANDS if p and not c.help]


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) or "fleet" for p, _ in COMMANDS])
def test_no_help_paragraph_has_a_hard_line_break_mid_sentence(path: list[str],
                                                               cmd: Any) -> None:
    for paragraph in _paragraphs(cmd.help or ""):
        lines = paragraph.splitlines()
        for before, line in pairwise(lines):
            # a line break is allowed only before a list item
            assert ITEM.match(line), f"fleet {' '.join(path)}: break after {before!r}"


@pytest.mark.parametrize("columns", ["200", "80"])
def test_rendered_help_wraps_only_at_the_terminal_width(columns: str) -> None:
    width = int(columns)
    for path, cmd in COMMANDS:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": columns})
        assert result.exit_code == 0, result.output
        out = result.stdout
        for paragraph in _paragraphs(cmd.help or ""):
            words = paragraph.split()
            if len(paragraph) < width - 10 and "\n" not in paragraph:
                # short enough for one line: printed on one line
                assert paragraph in out, f"fleet {' '.join(path)} at {columns} columns"
            # a wrapped line uses the width: no line of the paragraph ends far short of it
            # while the paragraph goes on (that would be a hard break)
            lines = [ln.strip(" │") for ln in out.splitlines()]
            first = next((i for i, ln in enumerate(lines) if ln.startswith(words[0])
                          and words[1:2] == ln.split()[1:2]), None)
            if first is None:
                continue
            text = ""
            for ln in lines[first:]:
                if not ln.strip():
                    break
                text = f"{text} {ln.strip()}".strip()
                if len(text) >= len(" ".join(words)):
                    break
                assert len(ln.rstrip()) > width - 30, (
                    f"fleet {' '.join(path)} at {columns} columns: short line {ln!r}")


def test_flow_joins_lines_and_keeps_paragraphs_and_items() -> None:
    assert flow("One line\nand its end.\n\nAnother:\n\n- an item\n  goes on\n- next") == (
        "One line and its end.\n\nAnother:\n\n- an item goes on\n- next")
