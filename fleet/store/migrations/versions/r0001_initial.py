"""Initial schema: robots, missions, mission events, inspection results and readings.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written by hand; a frozen snapshot of fleet/store/tables.py at the time (it must not import
the tables, which will move on).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
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
    op.create_table(
        "missions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("map_path", sa.String(), nullable=True),
        sa.Column("plan", _JSON, nullable=True),
        sa.Column("objective", sa.String(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("failure_reason", sa.String(), nullable=True),
    )
    op.create_index("ix_missions_status_created", "missions", ["status", "created_at"])
    op.create_index("ix_missions_created", "missions", ["created_at"])
    op.create_table(
        "mission_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mission_id", sa.String(32), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("detail", _JSON, nullable=True),
        sa.Column("robot_serial", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["mission_id"], ["missions.id"],
                                name="fk_mission_events_mission", ondelete="CASCADE"),
    )
    op.create_index("ix_mission_events_mission_time", "mission_events", ["mission_id", "at"])
    op.create_index("ix_mission_events_time", "mission_events", ["at"])
    op.create_table(
        "inspection_results",
        sa.Column("result_id", sa.String(36), primary_key=True),
        sa.Column("mission_id", sa.String(32), nullable=True),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("action_id", sa.String(), nullable=False),
        sa.Column("manufacturer", sa.String(), nullable=False),
        sa.Column("serial_number", sa.String(), nullable=False),
        sa.Column("inspection_point_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("measured_at", _TIME, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("position", _JSON, nullable=False),
        sa.Column("findings", _JSON, nullable=True),
    )
    op.create_index("ix_inspection_results_mission", "inspection_results", ["mission_id"])
    op.create_index("ix_inspection_results_point_time", "inspection_results",
                    ["inspection_point_id", "measured_at"])
    op.create_index("ix_inspection_results_time", "inspection_results", ["measured_at"])
    op.create_table(
        "readings",
        sa.Column("result_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sensor", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("inspection_point_id", sa.String(), nullable=False),
        sa.Column("measured_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["result_id"], ["inspection_results.result_id"],
                                name="fk_readings_result", ondelete="CASCADE"),
    )
    op.create_index("ix_readings_point_sensor_time", "readings",
                    ["inspection_point_id", "sensor", "measured_at"])


def downgrade() -> None:
    op.drop_table("readings")
    op.drop_table("inspection_results")
    op.drop_table("mission_events")
    op.drop_table("missions")
    op.drop_table("robots")
