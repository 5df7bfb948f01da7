"""Shared test helpers for the store: the manager's status enum, where a test database lives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from fleet.store import Store

PG_URL_VARIABLE = "FLEET_TEST_POSTGRES_URL"


class Status(StrEnum):
    """The manager's mission states, as the manager's enum spells them."""

    QUEUED = "queued"
    DISPATCHED = "dispatched"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    FAILED = "failed"
    ABORTED = "aborted"


@dataclass(frozen=True)
class Database:
    """Where a test's database lives: ``url`` (PostgreSQL) or ``path`` (a SQLite directory)."""

    kind: str
    url: str | None
    path: Path | None

    def open(self, **kwargs: Any) -> Store:
        return Store.open(self.url, path=self.path, **kwargs)

    def argument(self) -> str:
        """How a child process is told which database to open."""
        return self.url if self.url is not None else f"path:{self.path}"


def open_from_argument(argument: str) -> Store:
    """The store a child process opens from :meth:`Database.argument`."""
    if argument.startswith("path:"):
        return Store.open(path=argument[len("path:"):])
    return Store.open(argument)


def postgres_url() -> str:
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        pytest.skip(f"{PG_URL_VARIABLE} is not set (bash .ci/postgres.sh prints one)")
    return url
