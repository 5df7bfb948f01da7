"""Leadership leases: which manager leads a site sharing a PostgreSQL database.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Written by hand; a frozen snapshot of fleet/store/leases.py at the time. One row per site
(its VDA 5050 interface): the holder, the epoch (raised at each change of holder) and when
the lease runs out, on the database's clock (docs/operations.md, "Two managers").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "manager_leases",
        sa.Column("site", sa.String(), primary_key=True),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("renewed_at", _TIME, nullable=False),
        sa.Column("info", _JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("manager_leases")
