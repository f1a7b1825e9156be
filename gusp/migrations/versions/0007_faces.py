"""Faces: the unblurred original of each report photo (staff only) and the regions blurred in public.

Revision ID: 0007
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("report_photos", sa.Column("original_key", sa.String(80), nullable=True))
    op.add_column("report_photos", sa.Column("blur_regions", JSONB, nullable=False, server_default="[]"))
    op.create_index(op.f("ix_report_photos_original_key"), "report_photos", ["original_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_report_photos_original_key"), table_name="report_photos")
    op.drop_column("report_photos", "blur_regions")
    op.drop_column("report_photos", "original_key")
