"""Indexes of the stats part: covering indexes on `reports`, so that the meeting figures over a
million reports read a narrow index instead of the whole table (see docs/benchmarks.md).

Declared here, on the `reports` table of `gusp.models.reports`, so that the stats part keeps its
schema in one place and `alembic check` sees what migration 0005 creates.
"""

from __future__ import annotations

from sqlalchemy import Index

from gusp.models.reports import Report

# Everything the volume, rate, deadline and hotspot queries read, and the columns of the
# visibility rules (partner, assignment, quartier, author), in creation order: an index-only
# scan of the period. `id`: the map tiles' too (migration 0019).
STATS_COLUMNS = (
    "quartier_id", "category_code", "status", "partner_id", "source", "master_report_id", "assigned_at",
    "resolved_at", "due_at", "created_by_user_id", "location", "id",
)
# Handling times are read by resolution date, over resolved reports only.
DELAY_COLUMNS = (
    "created_at", "assigned_at", "partner_id", "category_code", "quartier_id", "source", "master_report_id",
    "created_by_user_id",
)

ix_reports_stats_created = Index(
    "ix_reports_stats_created", Report.created_at, postgresql_include=list(STATS_COLUMNS),
)
ix_reports_stats_resolved = Index(
    "ix_reports_stats_resolved", Report.resolved_at, postgresql_include=list(DELAY_COLUMNS),
    postgresql_where=Report.resolved_at.is_not(None),
)
