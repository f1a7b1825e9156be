"""The office at work: personal API tokens expire.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # Tokens made before expiry existed: a year after their creation, and never less than 90 days from now.
    op.execute("UPDATE api_tokens SET expires_at = GREATEST(created_at + interval '365 days', now() + interval '90 days')")
    op.alter_column("api_tokens", "expires_at", nullable=False)


def downgrade() -> None:
    op.drop_column("api_tokens", "expires_at")
