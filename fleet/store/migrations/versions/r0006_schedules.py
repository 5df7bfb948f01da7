"""Recurring missions: schedules and their events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Written by hand; a frozen snapshot of fleet/store/tables.py at the time. A schedule keeps
the mission document it was added with; its events are the scheduler's decisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("mission_name", sa.String(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("map_doc", _JSON, nullable=True),
        sa.Column("cron", sa.String(), nullable=True),
        sa.Column("every_s", sa.Float(), nullable=True),
        sa.Column("anchor", _TIME, nullable=True),
        sa.Column("tz", sa.String(), nullable=False),
        sa.Column("overlap", sa.String(), nullable=False),
        sa.Column("catch_up", sa.String(), nullable=False),
        sa.Column("blackouts", _JSON, nullable=True),
        sa.Column("start_at", _TIME, nullable=True),
        sa.Column("until_at", _TIME, nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("checked_until", _TIME, nullable=False),
        sa.Column("last_mission_id", sa.String(), nullable=True),
        sa.Column("queued_due", _TIME, nullable=True),
        sa.Column("removed_at", _TIME, nullable=True),
    )
    op.create_table(
        "schedule_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("due", _TIME, nullable=True),
        sa.Column("mission_id", sa.String(), nullable=True),
        sa.Column("detail", _JSON, nullable=True),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"],
                                name="fk_schedule_events_schedule"),
    )
    op.create_index("ix_schedule_events_schedule_time", "schedule_events",
                    ["schedule_id", "at"])
    op.create_index("ix_schedule_events_time", "schedule_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_schedule_events_time", "schedule_events")
    op.drop_index("ix_schedule_events_schedule_time", "schedule_events")
    op.drop_table("schedule_events")
    op.drop_table("schedules")
