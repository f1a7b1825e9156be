"""Hardening: rate-limit counters, and the clients each user signed in from (known devices, addresses).

Revision ID: 0009
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_counters")),
    )
    op.create_table(
        "known_clients",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_known_clients_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_clients")),
    )
    op.create_index("ix_known_clients_user", "known_clients", ["user_id", "kind", "value_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_known_clients_user", table_name="known_clients")
    op.drop_table("known_clients")
    op.drop_table("rate_counters")
