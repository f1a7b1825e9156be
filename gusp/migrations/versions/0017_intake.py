"""Intake: drop the GiST index of every report's geography, which no query needs any more.

Both duplicate searches (gusp.duplicates, gusp.intake_lean) ask only for open, unmerged reports,
which the partial index of migration 0016 holds; nothing else reads reports by geography. The
full index was still written at every intake (a GiST insert per report).

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_reports_location_geog")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_reports_location_geog ON reports USING gist ((location::geography))")
