"""Open311: client applications and their API keys; reports from Open311 clients.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SOURCES_BEFORE = "('web', 'agent', 'api')"
SOURCES_AFTER = "('web', 'agent', 'api', 'open311')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_reports_source"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_source"), "reports", f"source IN {SOURCES_AFTER}")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_reports_source"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_source"), "reports", f"source IN {SOURCES_BEFORE}")
