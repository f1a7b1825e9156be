"""Open311 both ways: category families and keywords; partners reached by Open311; comments received.

- `categories.family`, `categories.keywords`: the Open311 `group` and `keywords` of a service.
- `partner_open311`: a partner whose assigned reports are sent to its Open311 server.
- `open311_transmissions`: what was sent there, and the id the partner's server gave it.
- `open311_remote_updates`: the partner's updates read back, each applied once.
- `open311_update_receipts`: comments POSTed by client applications, each recorded once.

Revision ID: 0012
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("categories", sa.Column("family", sa.String(length=100), nullable=True))
    op.add_column("categories", sa.Column("keywords", postgresql.ARRAY(sa.Text()), server_default="{}",
                                          nullable=False))
    op.create_table(
        "partner_open311",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=False),
        sa.Column("api_key", sa.String(length=200), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=200), nullable=True),
        sa.Column("service_codes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("photos", sa.String(length=16), server_default="upload", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("poll_updates", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("polled_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_poll_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("photos IN ('upload', 'media_url', 'none')", name=op.f("ck_partner_open311_photos")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE",
                                name=op.f("fk_partner_open311_partner_id_partners")),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_partner_open311")),
    )
    op.create_table(
        "open311_transmissions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=True),
        sa.Column("token", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_open311_transmissions_report_id_reports")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_open311_transmissions_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_transmissions")),
        sa.UniqueConstraint("report_id", "partner_id", name="uq_open311_transmissions_report_partner"),
        sa.UniqueConstraint("partner_id", "remote_id", name="uq_open311_transmissions_partner_remote"),
    )
    op.create_index(op.f("ix_open311_transmissions_report_id"), "open311_transmissions", ["report_id"])
    op.create_table(
        "open311_remote_updates",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.String(length=100), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_open311_remote_updates_partner_id_partners")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_open311_remote_updates_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_remote_updates")),
        sa.UniqueConstraint("partner_id", "update_id", name="uq_open311_remote_updates_partner_update"),
    )
    op.create_index(op.f("ix_open311_remote_updates_report_id"), "open311_remote_updates", ["report_id"])
    op.create_table(
        "open311_update_receipts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("update_id", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["open311_clients.id"],
                                name=op.f("fk_open311_update_receipts_client_id_open311_clients")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"],
                                name=op.f("fk_open311_update_receipts_report_id_reports")),
        sa.ForeignKeyConstraint(["event_id"], ["report_events.id"],
                                name=op.f("fk_open311_update_receipts_event_id_report_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_update_receipts")),
        sa.UniqueConstraint("client_id", "update_id", name="uq_open311_update_receipts_client_update"),
        sa.UniqueConstraint("client_id", "idempotency_key", name="uq_open311_update_receipts_client_key"),
    )
    op.create_index(op.f("ix_open311_update_receipts_report_id"), "open311_update_receipts", ["report_id"])


def downgrade() -> None:
    op.drop_table("open311_update_receipts")
    op.drop_table("open311_remote_updates")
    op.drop_table("open311_transmissions")
    op.drop_table("partner_open311")
    op.drop_column("categories", "keywords")
    op.drop_column("categories", "family")
