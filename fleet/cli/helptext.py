"""Help text that flows: docstrings are wrapped at 92 columns in the source, but typer
prints their line breaks as they are, so help would break mid-sentence at any terminal
width. :func:`flow_app` gives every command the help of its docstring with each paragraph
on one logical line (list items and indented lines keep their own lines); the terminal
then wraps it."""

from __future__ import annotations

import inspect
import re

import typer
from typer.models import CommandInfo, TyperInfo

_ITEM = re.compile(r"^([-*•]|\d+[.)])\s")
"""A list item: it starts a line of its own; its continuation lines join it."""


def flow(text: str) -> str:
    """``text`` (a docstring) with the line breaks inside paragraphs and list items
    removed; paragraphs stay separated by a blank line, list items and indented lines
    (examples) keep their own lines."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", inspect.cleandoc(text)):
        lines: list[str] = []
        in_item = False
        for line in block.splitlines():
            item = bool(_ITEM.match(line.strip()))
            if not lines or item or (line[:1].isspace() and not in_item):
                lines.append(line.rstrip())
                in_item = item
            else:
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _flowed(help_: object, callback: object) -> str | None:
    if isinstance(help_, str):
        return flow(help_)
    doc = inspect.getdoc(callback) if callback is not None else None
    return flow(doc) if doc else None


def flow_app(app: typer.Typer) -> None:
    """Flow the help of every command and group of ``app``, recursively (before the app
    first runs: typer builds its click commands from this information then)."""
    for command in app.registered_commands:
        _flow_command(command)
    info = app.info
    if isinstance(info.help, str):
        info.help = flow(info.help)
    cb = app.registered_callback
    if cb is not None and isinstance(cb.help, str):
        cb.help = flow(cb.help)
    for group in app.registered_groups:
        _flow_group(group)


def _flow_command(command: CommandInfo) -> None:
    command.help = _flowed(command.help, command.callback)


def _flow_group(group: TyperInfo) -> None:
    if isinstance(group.help, str):
        group.help = flow(group.help)
    if group.typer_instance is not None:
        flow_app(group.typer_instance)
