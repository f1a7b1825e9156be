"""Intake schema: quartiers, service areas, categories, reports, photos, contacts, events.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 18:23:04.265427
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY = """
CREATE FUNCTION report_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'report_events is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER report_events_append_only BEFORE UPDATE OR DELETE ON report_events
    FOR EACH ROW EXECUTE FUNCTION report_events_append_only();
CREATE TRIGGER report_events_no_truncate BEFORE TRUNCATE ON report_events
    FOR EACH STATEMENT EXECUTE FUNCTION report_events_append_only();
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # Reference numbers: never reused, gaps allowed (a failed intake consumes one).
    op.execute("CREATE SEQUENCE report_reference_seq")
    op.create_table('categories',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('icon', sa.String(length=64), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_categories'))
    )
    op.create_table('quartiers',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('nom', sa.String(length=200), nullable=False),
    sa.Column('commune', sa.String(length=200), nullable=True),
    sa.Column('insee', sa.String(length=5), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('licence', sa.Text(), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, spatial_index=False), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("type IN ('QPV', 'quartier_de_veille')", name=op.f('ck_quartiers_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quartiers')),
    sa.UniqueConstraint('code', name=op.f('uq_quartiers_code'))
    )
    op.create_index('idx_quartiers_geom', 'quartiers', ['geom'], unique=False, postgresql_using='gist')
    op.create_table('service_areas',
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('commune', sa.String(length=200), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POLYGON', srid=4326, spatial_index=False), nullable=False),
    sa.PrimaryKeyConstraint('insee', name=op.f('pk_service_areas'))
    )
    op.create_index('idx_service_areas_geom', 'service_areas', ['geom'], unique=False, postgresql_using='gist')
    op.create_table('reports',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('location', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, spatial_index=False), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('attribution', sa.String(length=16), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('nearest_quartier_id', sa.Integer(), nullable=True),
    sa.Column('nearest_distance_m', sa.Float(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(attribution = 'perimetre' AND quartier_id IS NOT NULL) OR (attribution = 'hors_perimetre' AND quartier_id IS NULL)", name=op.f('ck_reports_attribution_quartier')),
    sa.CheckConstraint("attribution IN ('perimetre', 'hors_perimetre')", name=op.f('ck_reports_attribution')),
    sa.CheckConstraint("source IN ('web', 'agent', 'api')", name=op.f('ck_reports_source')),
    sa.CheckConstraint("status IN ('nouveau', 'pris_en_compte', 'en_cours', 'resolu', 'clos', 'rejete')", name=op.f('ck_reports_status')),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_reports_category_code_categories')),
    sa.ForeignKeyConstraint(['nearest_quartier_id'], ['quartiers.id'], name=op.f('fk_reports_nearest_quartier_id_quartiers')),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_reports_quartier_id_quartiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_reports_idempotency_key')),
    sa.UniqueConstraint('reference', name=op.f('uq_reports_reference'))
    )
    op.create_index('idx_reports_location', 'reports', ['location'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_reports_category_code'), 'reports', ['category_code'], unique=False)
    op.create_index(op.f('ix_reports_quartier_id'), 'reports', ['quartier_id'], unique=False)
    op.create_index(op.f('ix_reports_status'), 'reports', ['status'], unique=False)
    op.create_index(op.f('ix_reports_created_at'), 'reports', ['created_at'], unique=False)
    op.create_table('report_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('report_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('note_public', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_events_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_events'))
    )
    op.create_index(op.f('ix_report_events_report_id'), 'report_events', ['report_id'], unique=False)
    op.execute(APPEND_ONLY)
    op.create_table('report_photos',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('report_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('display_key', sa.String(length=80), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=80), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('thumbnail_width', sa.Integer(), nullable=False),
    sa.Column('thumbnail_height', sa.Integer(), nullable=False),
    sa.Column('source_format', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_photos_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_photos'))
    )
    op.create_index(op.f('ix_report_photos_display_key'), 'report_photos', ['display_key'], unique=False)
    op.create_index(op.f('ix_report_photos_report_id'), 'report_photos', ['report_id'], unique=False)
    op.create_index(op.f('ix_report_photos_thumbnail_key'), 'report_photos', ['thumbnail_key'], unique=False)
    op.create_table('reporter_contacts',
    sa.Column('report_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_reporter_contacts_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_reporter_contacts'))
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER report_events_append_only ON report_events")
    op.execute("DROP TRIGGER report_events_no_truncate ON report_events")
    op.execute("DROP FUNCTION report_events_append_only()")
    op.drop_table('reporter_contacts')
    op.drop_index(op.f('ix_report_photos_thumbnail_key'), table_name='report_photos')
    op.drop_index(op.f('ix_report_photos_report_id'), table_name='report_photos')
    op.drop_index(op.f('ix_report_photos_display_key'), table_name='report_photos')
    op.drop_table('report_photos')
    op.drop_index(op.f('ix_report_events_report_id'), table_name='report_events')
    op.drop_table('report_events')
    op.drop_index(op.f('ix_reports_status'), table_name='reports')
    op.drop_index(op.f('ix_reports_created_at'), table_name='reports')
    op.drop_index(op.f('ix_reports_quartier_id'), table_name='reports')
    op.drop_index(op.f('ix_reports_category_code'), table_name='reports')
    op.drop_index('idx_reports_location', table_name='reports', postgresql_using='gist')
    op.drop_table('reports')
    op.drop_index('idx_service_areas_geom', table_name='service_areas', postgresql_using='gist')
    op.drop_table('service_areas')
    op.drop_index('idx_quartiers_geom', table_name='quartiers', postgresql_using='gist')
    op.drop_table('quartiers')
    op.drop_table('categories')
    op.execute("DROP SEQUENCE report_reference_seq")
