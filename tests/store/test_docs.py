"""docs/storage.md stays honest: it names every Store method, table and index."""

from __future__ import annotations

import inspect
from pathlib import Path

from sqlalchemy import Table

from fleet.store import (
    AlertDeliveryRow,
    AnomalyObservationRow,
    AnomalyRow,
    InspectionResultRow,
    MissionEventRow,
    MissionRow,
    ReadingRow,
    SensorReadingRow,
    Store,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"


def test_every_public_method_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    methods = [name for name, _ in inspect.getmembers(Store, callable)
               if not name.startswith("_")]
    assert "record_results" in methods
    missing = [m for m in methods if f"{m}(" not in text]
    assert missing == []


def test_every_table_and_index_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for row in (MissionRow, MissionEventRow, InspectionResultRow, ReadingRow,
                SensorReadingRow, AnomalyRow, AnomalyObservationRow, AlertDeliveryRow):
        table: Table = row.__table__  # type: ignore[attr-defined]
        assert f"`{table.name}`" in text and f"`{row.__name__}`" in text
        for index in table.indexes:
            assert f"`{index.name}`" in text, index.name
