"""The store's gas-safety records: robots' methane lockouts (``lockouts``) and gas closures
of areas (``closures``), kept so that both survive a manager restart.

:class:`GasMethods` is mixed into :class:`fleet.store.Store`; its methods follow the
store's rules (one short transaction each, detached rows, StoreError on failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from fleet.store.database import orm_session
from fleet.store.tables import ClosureRow, LockoutRow


class GasMethods:
    """The :class:`~fleet.store.Store` methods for lockouts and closures."""

    _engine: Engine

    # -- lockouts ---------------------------------------------------------------------------
    def add_lockout(self, *, manufacturer: str, serial: str, node_id: str, sensor: str,
                    value: float, unit: str, level: float | None,
                    at: datetime) -> LockoutRow:
        """Store a new open lockout; the row with its id."""
        row = LockoutRow(manufacturer=manufacturer, serial=serial, node_id=node_id,
                         sensor=sensor, value=value, unit=unit, level=level, locked_at=at)
        with orm_session(self._engine, write=True) as session:
            session.add(row)
            session.flush()
            session.refresh(row)
        return row

    def lockouts(self, *, open_only: bool = False) -> list[LockoutRow]:
        """Lockouts, oldest first (only those not reset with ``open_only``)."""
        query = select(LockoutRow).order_by(col(LockoutRow.id))
        if open_only:
            query = query.where(col(LockoutRow.reset_at).is_(None))
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    def reset_lockouts(self, manufacturer: str, serial: str, *, by: str, note: str,
                       at: datetime) -> list[LockoutRow]:
        """Record a supervisor's reset on every open lockout of the robot; those rows."""
        query = select(LockoutRow).where(LockoutRow.manufacturer == manufacturer,
                                         LockoutRow.serial == serial,
                                         col(LockoutRow.reset_at).is_(None))
        with orm_session(self._engine, write=True) as session:
            rows = list(session.exec(query).all())
            for row in rows:
                row.reset_at, row.reset_by, row.note = at, by, note
                session.add(row)
        return rows

    # -- closures ---------------------------------------------------------------------------
    def add_closure(self, *, site: str, node_id: str, nodes: Sequence[str], area: str,
                    source: str, sensor: str, value: float, unit: str,
                    restore: float | None, at: datetime) -> ClosureRow:
        """Store a new open closure; the row with its id."""
        row = ClosureRow(site=site, node_id=node_id, nodes=list(nodes), area=area,
                         source=source, sensor=sensor, value=value, unit=unit,
                         restore=restore, opened_at=at)
        with orm_session(self._engine, write=True) as session:
            session.add(row)
            session.flush()
            session.refresh(row)
        return row

    def closures(self, *, open_only: bool = False) -> list[ClosureRow]:
        """Closures, oldest first (only those not reopened with ``open_only``)."""
        query = select(ClosureRow).order_by(col(ClosureRow.id))
        if open_only:
            query = query.where(col(ClosureRow.reopened_at).is_(None))
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    def reopen_closure(self, closure_id: int, *, by: str, note: str | None,
                       at: datetime) -> ClosureRow | None:
        """Reopen closure ``closure_id``; the row (None when there is none; an already
        reopened one is returned unchanged)."""
        with orm_session(self._engine, write=True) as session:
            row = session.get(ClosureRow, closure_id)
            if row is None or row.reopened_at is not None:
                return row
            row.reopened_at, row.reopened_by, row.note = at, by, note
            session.add(row)
        return row
