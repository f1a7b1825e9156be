"""Walking diagnostics (diagnostics en marchant) and their findings; meeting packs issued.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("diagnostics",
    sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column("quartier_id", sa.Integer(), nullable=False),
    sa.Column("held_on", sa.Date(), nullable=False),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("participants", sa.Text(), server_default="", nullable=False),
    sa.Column("route", geoalchemy2.types.Geometry(geometry_type="LINESTRING", srid=4326, spatial_index=False), nullable=True),
    sa.Column("created_by_user_id", sa.Integer(), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], name=op.f("fk_diagnostics_created_by_user_id_users")),
    sa.ForeignKeyConstraint(["quartier_id"], ["quartiers.id"], name=op.f("fk_diagnostics_quartier_id_quartiers")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostics"))
    )
    op.create_index(op.f("ix_diagnostics_quartier_id"), "diagnostics", ["quartier_id"], unique=False)
    op.create_table("diagnostic_partners",
    sa.Column("diagnostic_id", sa.Integer(), nullable=False),
    sa.Column("partner_id", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["diagnostic_id"], ["diagnostics.id"], name=op.f("fk_diagnostic_partners_diagnostic_id_diagnostics"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_diagnostic_partners_partner_id_partners")),
    sa.PrimaryKeyConstraint("diagnostic_id", "partner_id", name=op.f("pk_diagnostic_partners"))
    )
    op.create_index(op.f("ix_diagnostic_partners_partner_id"), "diagnostic_partners", ["partner_id"], unique=False)
    op.create_table("diagnostic_findings",
    sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column("diagnostic_id", sa.Integer(), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("report_id", sa.BigInteger(), nullable=True),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("location", geoalchemy2.types.Geometry(geometry_type="POINT", srid=4326, spatial_index=False), nullable=True),
    sa.Column("created_by_user_id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    sa.CheckConstraint("(kind = 'probleme' AND report_id IS NOT NULL AND location IS NULL) OR (kind = 'point_positif' AND report_id IS NULL AND location IS NOT NULL)", name=op.f("ck_diagnostic_findings_kind_fields")),
    sa.CheckConstraint("kind IN ('probleme', 'point_positif')", name=op.f("ck_diagnostic_findings_kind")),
    sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], name=op.f("fk_diagnostic_findings_created_by_user_id_users")),
    sa.ForeignKeyConstraint(["diagnostic_id"], ["diagnostics.id"], name=op.f("fk_diagnostic_findings_diagnostic_id_diagnostics")),
    sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_diagnostic_findings_report_id_reports")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostic_findings")),
    sa.UniqueConstraint("diagnostic_id", "number", name="uq_diagnostic_findings_number"),
    sa.UniqueConstraint("report_id", name=op.f("uq_diagnostic_findings_report_id"))
    )
    op.create_index(op.f("ix_diagnostic_findings_diagnostic_id"), "diagnostic_findings", ["diagnostic_id"], unique=False)
    op.create_table("diagnostic_photos",
    sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column("finding_id", sa.BigInteger(), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("display_key", sa.String(length=80), nullable=False),
    sa.Column("thumbnail_key", sa.String(length=80), nullable=False),
    sa.Column("width", sa.Integer(), nullable=False),
    sa.Column("height", sa.Integer(), nullable=False),
    sa.Column("thumbnail_width", sa.Integer(), nullable=False),
    sa.Column("thumbnail_height", sa.Integer(), nullable=False),
    sa.Column("source_format", sa.String(length=16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    sa.ForeignKeyConstraint(["finding_id"], ["diagnostic_findings.id"], name=op.f("fk_diagnostic_photos_finding_id_diagnostic_findings"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostic_photos"))
    )
    op.create_index(op.f("ix_diagnostic_photos_display_key"), "diagnostic_photos", ["display_key"], unique=False)
    op.create_index(op.f("ix_diagnostic_photos_finding_id"), "diagnostic_photos", ["finding_id"], unique=False)
    op.create_index(op.f("ix_diagnostic_photos_thumbnail_key"), "diagnostic_photos", ["thumbnail_key"], unique=False)
    op.create_table("meeting_packs",
    sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column("quartier_codes", sa.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column("period_start", sa.Date(), nullable=False),
    sa.Column("period_end", sa.Date(), nullable=False),
    sa.Column("generated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    sa.Column("generated_by_user_id", sa.Integer(), nullable=True),
    sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(["generated_by_user_id"], ["users.id"], name=op.f("fk_meeting_packs_generated_by_user_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_packs"))
    )
    op.create_index("ix_meeting_packs_quartiers_at", "meeting_packs", ["quartier_codes", "generated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_meeting_packs_quartiers_at", table_name="meeting_packs")
    op.drop_table("meeting_packs")
    op.drop_index(op.f("ix_diagnostic_photos_thumbnail_key"), table_name="diagnostic_photos")
    op.drop_index(op.f("ix_diagnostic_photos_finding_id"), table_name="diagnostic_photos")
    op.drop_index(op.f("ix_diagnostic_photos_display_key"), table_name="diagnostic_photos")
    op.drop_table("diagnostic_photos")
    op.drop_index(op.f("ix_diagnostic_findings_diagnostic_id"), table_name="diagnostic_findings")
    op.drop_table("diagnostic_findings")
    op.drop_index(op.f("ix_diagnostic_partners_partner_id"), table_name="diagnostic_partners")
    op.drop_table("diagnostic_partners")
    op.drop_index(op.f("ix_diagnostics_quartier_id"), table_name="diagnostics")
    op.drop_table("diagnostics")
