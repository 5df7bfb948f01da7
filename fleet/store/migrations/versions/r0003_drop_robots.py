"""Drop the robots table: nothing ever wrote it but tests, and nothing read it.

Revision ID: 0003
Revises: 0002
Create Date: 2025-02-01

The manager keeps robots in memory (fleet.manager.registry) from their factsheets, states
and liveliness, and a restarted manager learns them again within a state interval; the
table was never written by the service. docs/storage.md records the choice. The downgrade
recreates it empty, as revision 0001 defined it (a frozen copy: migrations do not import
the tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_table("robots")


def downgrade() -> None:
    op.create_table(
        "robots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("manufacturer", sa.String(), nullable=False),
        sa.Column("serial_number", sa.String(), nullable=False),
        sa.Column("robot_class", sa.String(), nullable=True),
        sa.Column("capabilities", _JSON, nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.Column("last_node", sa.String(), nullable=True),
        sa.Column("last_seen", _TIME, nullable=True),
        sa.UniqueConstraint("manufacturer", "serial_number", name="uq_robots_identity"),
    )
