"""Lean intake: a partial GiST index of open, unmerged reports for the duplicate search.

The search (gusp.duplicates, gusp.intake_lean) asks for open reports of a category within a
radius; with an index over every report, its cost grows with the closed ones (17 ms at 1M).
The partial index holds only the candidates, so the search stays flat as history piles up.

Revision ID: 0016
Revises: 0011
"""
from alembic import op

revision = "0016"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_reports_open_location_geog ON reports USING gist ((location::geography))"
        " WHERE status IN ('nouveau', 'pris_en_compte', 'en_cours') AND master_report_id IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_reports_open_location_geog")
