"""Maps: the stats index by creation date also holds `id`, so that a map tile reads it alone.

A grouped tile (gusp.map_tiles) reads every report of the filters in its block: status, deadline,
position, and `id` for the lone report of a cell. Without `id` in the covering index of
migration 0005, each row was fetched from the table (an index scan with 11,528 heap fetches for
`/carte`'s default window at 100,000 reports); with it, an index-only scan: the block's query
takes 10.5 ms instead of 14 ms there (docs/benchmarks.md). Same index count, 8 bytes more per entry.

Revision ID: 0019
Revises: 0017
"""
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

BEFORE = [
    "quartier_id", "category_code", "status", "partner_id", "source", "master_report_id", "assigned_at",
    "resolved_at", "due_at", "created_by_user_id", "location",
]


def upgrade() -> None:
    op.drop_index("ix_reports_stats_created", table_name="reports")
    op.create_index("ix_reports_stats_created", "reports", ["created_at"], postgresql_include=[*BEFORE, "id"])


def downgrade() -> None:
    op.drop_index("ix_reports_stats_created", table_name="reports")
    op.create_index("ix_reports_stats_created", "reports", ["created_at"], postgresql_include=BEFORE)
