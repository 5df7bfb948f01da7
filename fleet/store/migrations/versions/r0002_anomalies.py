"""Anomalies: the anomaly log, its observations, alert deliveries, and results' rules flag.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-15

Written by hand; a frozen snapshot of fleet/store/tables.py at the time (it must not import
the tables, which will move on).

Results stored before this revision were never seen by anomaly rules; they are marked as
checked here so that an upgraded manager does not raise alerts about old history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_TIME = sa.DateTime(timezone=True)
_UNCHECKED = sa.text("NOT rules_checked")


def upgrade() -> None:
    with op.batch_alter_table("inspection_results") as batch:
        batch.add_column(sa.Column("rules_checked", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.execute(sa.text("UPDATE inspection_results SET rules_checked = :yes").bindparams(
        sa.bindparam("yes", True, type_=sa.Boolean())))
    op.create_index("ix_inspection_results_unchecked", "inspection_results", ["measured_at"],
                    sqlite_where=_UNCHECKED, postgresql_where=_UNCHECKED)
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("inspection_point_id", sa.String(), nullable=False),
        sa.Column("sensor", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("peak", sa.Float(), nullable=True),
        sa.Column("peak_at", _TIME, nullable=True),
        sa.Column("peak_result_id", sa.String(36), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", _TIME, nullable=False),
        sa.Column("last_seen", _TIME, nullable=False),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.String(32), nullable=True),
        sa.Column("manufacturer", sa.String(), nullable=True),
        sa.Column("serial_number", sa.String(), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("level", sa.String(), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acknowledged_at", _TIME, nullable=True),
        sa.Column("ack_note", sa.String(), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.Column("resolve_note", sa.String(), nullable=True),
        sa.Column("detail", _JSON, nullable=True),
        sa.Column("history", _JSON, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("inspection_point_id", "sensor", name="uq_anomalies_point_sensor"),
    )
    op.create_index("ix_anomalies_status_last_seen", "anomalies", ["status", "last_seen"])
    op.create_index("ix_anomalies_last_seen", "anomalies", ["last_seen"])
    op.create_table(
        "anomaly_observations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("anomaly_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("mission_id", sa.String(32), nullable=True),
        sa.Column("measured_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["anomaly_id"], ["anomalies.id"],
                                name="fk_anomaly_observations_anomaly", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["result_id"], ["inspection_results.result_id"],
                                name="fk_anomaly_observations_result", ondelete="CASCADE"),
    )
    op.create_index("ix_anomaly_observations_anomaly_time", "anomaly_observations",
                    ["anomaly_id", "measured_at"])
    op.create_index("ix_anomaly_observations_mission", "anomaly_observations", ["mission_id"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("anomaly_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("payload", _JSON, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("last_attempt_at", _TIME, nullable=True),
        sa.Column("delivered_at", _TIME, nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["anomaly_id"], ["anomalies.id"],
                                name="fk_alert_deliveries_anomaly", ondelete="CASCADE"),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_alert_deliveries_anomaly", "alert_deliveries", ["anomaly_id"])


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("anomaly_observations")
    op.drop_table("anomalies")
    op.drop_index("ix_inspection_results_unchecked", "inspection_results")
    with op.batch_alter_table("inspection_results") as batch:
        batch.drop_column("rules_checked")
