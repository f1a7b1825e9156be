"""Statistics: indexes and aggregates that keep the meeting figures interactive.

Two covering indexes on `reports` (declared in `gusp.models.stats`): one by creation date with
every column the volume, rate, deadline and hotspot queries read; one by resolution date, over
resolved reports, for handling times. They turn the statistics into index-only scans of the
period (figures in docs/benchmarks.md).

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATS_COLUMNS = [
    "quartier_id", "category_code", "status", "partner_id", "source", "master_report_id", "assigned_at",
    "resolved_at", "due_at", "created_by_user_id", "location",
]
DELAY_COLUMNS = [
    "created_at", "assigned_at", "partner_id", "category_code", "quartier_id", "source", "master_report_id",
    "created_by_user_id",
]


def upgrade() -> None:
    op.create_index("ix_reports_stats_created", "reports", ["created_at"], postgresql_include=STATS_COLUMNS)
    op.create_index("ix_reports_stats_resolved", "reports", ["resolved_at"], postgresql_include=DELAY_COLUMNS,
                    postgresql_where=sa.text("resolved_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_reports_stats_resolved", table_name="reports")
    op.drop_index("ix_reports_stats_created", table_name="reports")
