"""Publishing safely: per-photo moderation, sensitive categories, prior moderation of new reports.

Revision ID: 0006
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("report_photos", sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("categories", sa.Column("photos_public", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("categories", sa.Column("location_public", sa.String(16), server_default="exact", nullable=False))
    op.create_check_constraint(op.f("ck_categories_location_public"), "categories", "location_public IN ('exact', 'quartier')")
    op.add_column("reports", sa.Column("published", sa.Boolean(), server_default=sa.true(), nullable=False))
    # Public tranquillity puts people at risk when its place and photo are public.
    op.execute("UPDATE categories SET photos_public = false, location_public = 'quartier' WHERE code = 'tranquillite'")


def downgrade() -> None:
    op.drop_column("reports", "published")
    op.drop_constraint(op.f("ck_categories_location_public"), "categories", type_="check")
    op.drop_column("categories", "location_public")
    op.drop_column("categories", "photos_public")
    op.drop_column("report_photos", "hidden")
