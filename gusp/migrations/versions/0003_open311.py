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
    op.create_table(
        "open311_clients",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_clients")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_clients_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_open311_clients_name")),
    )
    op.add_column("reports", sa.Column("open311_client_id", sa.Integer(), nullable=True))
    op.add_column("reports", sa.Column("open311_token", sa.String(length=36), nullable=True))
    op.create_foreign_key(
        op.f("fk_reports_open311_client_id_open311_clients"), "reports", "open311_clients", ["open311_client_id"], ["id"]
    )
    op.create_index(op.f("ix_reports_open311_client_id"), "reports", ["open311_client_id"], unique=False)
    op.create_unique_constraint(op.f("uq_reports_open311_token"), "reports", ["open311_token"])
    op.create_check_constraint(
        op.f("ck_reports_open311_client"), "reports", "(source = 'open311') = (open311_client_id IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_reports_open311_client"), "reports", type_="check")
    op.drop_constraint(op.f("uq_reports_open311_token"), "reports", type_="unique")
    op.drop_index(op.f("ix_reports_open311_client_id"), table_name="reports")
    op.drop_constraint(op.f("fk_reports_open311_client_id_open311_clients"), "reports", type_="foreignkey")
    op.drop_column("reports", "open311_token")
    op.drop_column("reports", "open311_client_id")
    op.drop_table("open311_clients")
    op.drop_constraint(op.f("ck_reports_source"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_source"), "reports", f"source IN {SOURCES_BEFORE}")
