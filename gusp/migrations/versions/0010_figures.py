"""Meeting packs kept as issued: the PDF itself, so that a pack is issued once (POST) and downloaded
as often as needed (GET), and listed with the previous ones.

Revision ID: 0010
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("meeting_packs", sa.Column("pdf", sa.LargeBinary, nullable=True))
    op.add_column("meeting_packs", sa.Column("title", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("meeting_packs", "title")
    op.drop_column("meeting_packs", "pdf")
