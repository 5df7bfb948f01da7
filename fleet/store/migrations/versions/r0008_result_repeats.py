"""Repeats: one inspection per (orderId, actionId), further results kept as repeats.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08

Written by hand; a frozen snapshot of fleet/store/tables.py at the time. A result whose
``repeat_of`` is set is a repeat of the inspection ``repeat_of`` (the first result stored for
the same order and action); its readings carry ``repeat`` true. A partial unique index keeps
one inspection per (order_id, action_id) in the database itself, so the rule holds across
restarts and between managers sharing a database.

Results stored before this revision may hold several results per action (they were told
apart by resultId alone): for each such action, the first one received (then measured,
then by resultId) stays the inspection and the others become its repeats, flagged as
checked by the anomaly rules (they are not judged again). Nothing is deleted: their rows,
readings and anomaly observations stay as they were.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_INSPECTION = sa.text("repeat_of IS NULL")
_YES = sa.bindparam("yes", True, type_=sa.Boolean())

# The first result of each action with several: a correlated subquery both SQLite and
# PostgreSQL run; only the duplicated actions are looked at (the row-value IN).
_MARK_REPEATS = """
UPDATE inspection_results SET repeat_of = (
    SELECT f.result_id FROM inspection_results f
    WHERE f.order_id = inspection_results.order_id
      AND f.action_id = inspection_results.action_id
    ORDER BY f.received_at, f.measured_at, f.result_id LIMIT 1)
WHERE (order_id, action_id) IN (
    SELECT order_id, action_id FROM inspection_results
    GROUP BY order_id, action_id HAVING COUNT(*) > 1)
"""


def upgrade() -> None:
    op.add_column("inspection_results",
                  sa.Column("repeat_of", sa.String(length=36), nullable=True))
    op.add_column("readings", sa.Column("repeat", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.execute(_MARK_REPEATS)
    op.execute("UPDATE inspection_results SET repeat_of = NULL WHERE repeat_of = result_id")
    op.execute(sa.text(
        "UPDATE inspection_results SET rules_checked = :yes WHERE repeat_of IS NOT NULL"
    ).bindparams(_YES))
    op.execute(sa.text(
        "UPDATE readings SET repeat = :yes WHERE result_id IN "
        "(SELECT result_id FROM inspection_results WHERE repeat_of IS NOT NULL)"
    ).bindparams(_YES))
    op.create_index("uq_inspection_results_order_action", "inspection_results",
                    ["order_id", "action_id"], unique=True,
                    sqlite_where=_INSPECTION, postgresql_where=_INSPECTION)
    op.create_index("ix_inspection_results_repeat_of", "inspection_results", ["repeat_of"])


def downgrade() -> None:
    op.drop_index("ix_inspection_results_repeat_of", "inspection_results")
    op.drop_index("uq_inspection_results_order_action", "inspection_results")
    with op.batch_alter_table("readings") as batch:
        batch.drop_column("repeat")
    with op.batch_alter_table("inspection_results") as batch:
        batch.drop_column("repeat_of")
