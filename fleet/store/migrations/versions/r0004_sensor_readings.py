"""Fixed-sensor readings: the sensor_readings table, and observations that refer to one.

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-01

Written by hand; a frozen snapshot of fleet/store/tables.py at the time (it must not import
the tables, which will move on). The readings of the site's fixed gas sensors are stored
as readings of those sensors, not as inspection results; an anomaly observation refers to
either an inspection result's reading (result_id, seq) or a fixed-sensor reading
(sensor_reading_id), so result_id becomes nullable. The downgrade drops the fixed-sensor
observations with the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sensor_readings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sensor_id", sa.String(), nullable=False),
        sa.Column("sensor", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=True),
        sa.Column("reported", _JSON, nullable=True),
        sa.Column("measured_at", _TIME, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
    )
    op.create_index("ix_sensor_readings_sensor_time", "sensor_readings",
                    ["sensor_id", "sensor", "measured_at"])
    op.create_index("ix_sensor_readings_time", "sensor_readings", ["measured_at"])
    with op.batch_alter_table("anomaly_observations") as batch:
        batch.alter_column("result_id", existing_type=sa.String(36), nullable=True)
        batch.add_column(sa.Column("sensor_reading_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_anomaly_observations_sensor_reading", "sensor_readings",
                                 ["sensor_reading_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM anomaly_observations WHERE result_id IS NULL"))
    with op.batch_alter_table("anomaly_observations") as batch:
        batch.drop_constraint("fk_anomaly_observations_sensor_reading", type_="foreignkey")
        batch.drop_column("sensor_reading_id")
        batch.alter_column("result_id", existing_type=sa.String(36), nullable=False)
    op.drop_index("ix_sensor_readings_time", "sensor_readings")
    op.drop_index("ix_sensor_readings_sensor_time", "sensor_readings")
    op.drop_table("sensor_readings")
