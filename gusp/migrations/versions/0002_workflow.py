"""Workflow: accounts and roles, partners, zones, routing rules, outbox, report milestones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:48:05.206309
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    op.create_index('ix_login_failures_email_at', 'login_failures', ['email', 'at'], unique=False)
    op.create_index('ix_login_failures_ip_at', 'login_failures', ['ip', 'at'], unique=False)
    op.create_table('partners',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('emails', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('delay_days', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('ville', 'metropole', 'bailleur', 'etat', 'association', 'autre')", name=op.f('ck_partners_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('name', name=op.f('uq_partners_name'))
    )
    op.create_table('management_zones',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, spatial_index=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_management_zones_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_zones')),
    sa.UniqueConstraint('code', name=op.f('uq_management_zones_code'))
    )
    op.create_index('idx_management_zones_geom', 'management_zones', ['geom'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_management_zones_partner_id'), 'management_zones', ['partner_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(role = 'partenaire') = (partner_id IS NOT NULL)", name=op.f('ck_users_partner_member')),
    sa.CheckConstraint("role IN ('agent', 'coordinateur', 'partenaire', 'groupe', 'admin')", name=op.f('ck_users_role')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_users_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_index(op.f('ix_users_partner_id'), 'users', ['partner_id'], unique=False)
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('password_resets',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_resets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_password_resets'))
    )
    op.create_index(op.f('ix_password_resets_user_id'), 'password_resets', ['user_id'], unique=False)
    op.create_table('routing_rules',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('zone_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_routing_rules_category_code_categories')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_routing_rules_partner_id_partners')),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_routing_rules_quartier_id_quartiers')),
    sa.ForeignKeyConstraint(['zone_id'], ['management_zones.id'], name=op.f('fk_routing_rules_zone_id_management_zones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules')),
    sa.UniqueConstraint('category_code', 'quartier_id', 'zone_id', name='uq_routing_rules_key', postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_routing_rules_category_code'), 'routing_rules', ['category_code'], unique=False)
    op.create_table('user_quartiers',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_user_quartiers_quartier_id_quartiers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_quartiers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'quartier_id', name=op.f('pk_user_quartiers'))
    )
    op.create_table('user_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_user_sessions'))
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('report_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_outbox_status')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_outbox_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_message_id'))
    )
    op.create_index('ix_outbox_pending', 'outbox', ['available_at'], unique=False, postgresql_where="status = 'pending'")
    op.create_index(op.f('ix_outbox_report_id'), 'outbox', ['report_id'], unique=False)
    op.add_column('categories', sa.Column('duplicate_radius_m', sa.Integer(), server_default='50', nullable=False))
    op.add_column('categories', sa.Column('delay_days', sa.Integer(), nullable=True))
    op.add_column('report_events', sa.Column('actor_user_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_report_events_actor_user_id_users'), 'report_events', 'users', ['actor_user_id'], ['id'])
    op.add_column('report_photos', sa.Column('kind', sa.String(length=16), server_default='signalement', nullable=False))
    op.add_column('reports', sa.Column('priority', sa.String(length=16), server_default='normale', nullable=False))
    op.add_column('reports', sa.Column('partner_id', sa.Integer(), nullable=True))
    op.add_column('reports', sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('rejection_reason', sa.String(length=32), nullable=True))
    op.add_column('reports', sa.Column('master_report_id', sa.BigInteger(), nullable=True))
    op.add_column('reports', sa.Column('similar_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('reports', sa.Column('created_by_user_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_reports_created_by_user_id'), 'reports', ['created_by_user_id'], unique=False)
    op.create_index('ix_reports_due_open', 'reports', ['due_at'], unique=False, postgresql_where="status IN ('nouveau', 'pris_en_compte', 'en_cours')")
    op.create_index(op.f('ix_reports_master_report_id'), 'reports', ['master_report_id'], unique=False)
    op.create_index(op.f('ix_reports_partner_id'), 'reports', ['partner_id'], unique=False)
    op.create_check_constraint(op.f('ck_reports_priority'), 'reports',
                               "priority IN ('basse', 'normale', 'haute', 'urgente')")
    op.create_check_constraint(op.f('ck_reports_rejection_reason'), 'reports',
                               "rejection_reason IS NULL OR rejection_reason IN "
                               "('hors_competence', 'doublon', 'non_fonde', 'hors_perimetre', 'autre')")
    op.create_check_constraint(op.f('ck_reports_not_own_master'), 'reports',
                               "master_report_id IS NULL OR master_report_id <> id")
    op.create_check_constraint(op.f('ck_report_photos_kind'), 'report_photos', "kind IN ('signalement', 'apres')")
    # Likely duplicates are searched in metres (geography): an index on that expression.
    op.execute("CREATE INDEX ix_reports_location_geog ON reports USING gist ((location::geography))")
    op.execute("CREATE INDEX ix_reports_description_fts ON reports USING gin (to_tsvector('french', description))")
    op.create_foreign_key(op.f('fk_reports_partner_id_partners'), 'reports', 'partners', ['partner_id'], ['id'])
    op.create_foreign_key(op.f('fk_reports_created_by_user_id_users'), 'reports', 'users', ['created_by_user_id'], ['id'])
    op.create_foreign_key(op.f('fk_reports_master_report_id_reports'), 'reports', 'reports', ['master_report_id'], ['id'])


def downgrade() -> None:
    op.execute("DROP INDEX ix_reports_location_geog")
    op.execute("DROP INDEX ix_reports_description_fts")
    op.drop_constraint(op.f('ck_report_photos_kind'), 'report_photos', type_='check')
    op.drop_constraint(op.f('ck_reports_not_own_master'), 'reports', type_='check')
    op.drop_constraint(op.f('ck_reports_rejection_reason'), 'reports', type_='check')
    op.drop_constraint(op.f('ck_reports_priority'), 'reports', type_='check')
    op.drop_constraint(op.f('fk_reports_master_report_id_reports'), 'reports', type_='foreignkey')
    op.drop_constraint(op.f('fk_reports_created_by_user_id_users'), 'reports', type_='foreignkey')
    op.drop_constraint(op.f('fk_reports_partner_id_partners'), 'reports', type_='foreignkey')
    op.drop_index(op.f('ix_reports_partner_id'), table_name='reports')
    op.drop_index(op.f('ix_reports_master_report_id'), table_name='reports')
    op.drop_index('ix_reports_due_open', table_name='reports', postgresql_where="status IN ('nouveau', 'pris_en_compte', 'en_cours')")
    op.drop_index(op.f('ix_reports_created_by_user_id'), table_name='reports')
    op.drop_column('reports', 'created_by_user_id')
    op.drop_column('reports', 'similar_count')
    op.drop_column('reports', 'master_report_id')
    op.drop_column('reports', 'rejection_reason')
    op.drop_column('reports', 'closed_at')
    op.drop_column('reports', 'resolved_at')
    op.drop_column('reports', 'assigned_at')
    op.drop_column('reports', 'acknowledged_at')
    op.drop_column('reports', 'due_at')
    op.drop_column('reports', 'partner_id')
    op.drop_column('reports', 'priority')
    op.drop_column('report_photos', 'kind')
    op.drop_constraint(op.f('fk_report_events_actor_user_id_users'), 'report_events', type_='foreignkey')
    op.drop_column('report_events', 'actor_user_id')
    op.drop_column('categories', 'delay_days')
    op.drop_column('categories', 'duplicate_radius_m')
    op.drop_index(op.f('ix_outbox_report_id'), table_name='outbox')
    op.drop_index('ix_outbox_pending', table_name='outbox', postgresql_where="status = 'pending'")
    op.drop_table('outbox')
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
    op.drop_table('user_quartiers')
    op.drop_index(op.f('ix_routing_rules_category_code'), table_name='routing_rules')
    op.drop_table('routing_rules')
    op.drop_index(op.f('ix_password_resets_user_id'), table_name='password_resets')
    op.drop_table('password_resets')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index(op.f('ix_users_partner_id'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_management_zones_partner_id'), table_name='management_zones')
    op.drop_index('idx_management_zones_geom', table_name='management_zones', postgresql_using='gist')
    op.drop_table('management_zones')
    op.drop_table('partners')
    op.drop_index('ix_login_failures_ip_at', table_name='login_failures')
    op.drop_index('ix_login_failures_email_at', table_name='login_failures')
    op.drop_table('login_failures')
