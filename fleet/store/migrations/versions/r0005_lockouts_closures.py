"""Methane lockouts of robots and gas closures of areas.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Written by hand; a frozen snapshot of fleet/store/tables.py at the time. A lockout is open
until a supervisor's reset is stored on it; a closure until it reopens (a reading below
the restore level inside it, or a supervisor). Both survive a manager restart.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lockouts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("manufacturer", sa.String(), nullable=False),
        sa.Column("serial", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("sensor", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("level", sa.Float(), nullable=True),
        sa.Column("locked_at", _TIME, nullable=False),
        sa.Column("reset_at", _TIME, nullable=True),
        sa.Column("reset_by", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
    )
    op.create_index("ix_lockouts_robot", "lockouts", ["manufacturer", "serial"])
    op.create_table(
        "closures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("nodes", _JSON, nullable=True),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("sensor", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("restore", sa.Float(), nullable=True),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("reopened_at", _TIME, nullable=True),
        sa.Column("reopened_by", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
    )
    op.create_index("ix_closures_site", "closures", ["site"])


def downgrade() -> None:
    op.drop_index("ix_closures_site", "closures")
    op.drop_table("closures")
    op.drop_index("ix_lockouts_robot", "lockouts")
    op.drop_table("lockouts")
