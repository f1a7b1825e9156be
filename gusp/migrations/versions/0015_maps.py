"""Maps: a data version of the reports, bumped by every committed change, for the map tiles' cache.

A sequence, not a counter row: `nextval` takes no row lock, so concurrent intakes never queue on it.
The trigger is a deferred constraint trigger: it runs when the writing transaction commits, so a
tile read in between cannot be cached under the new version with the old data (docs: README, Carte).

Revision ID: 0015
Revises: 0006
"""
from alembic import op

revision = "0015"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE report_map_version")
    op.execute(
        """
        CREATE FUNCTION bump_report_map_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM nextval('report_map_version');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER reports_map_version
        AFTER INSERT OR UPDATE OR DELETE ON reports
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION bump_report_map_version()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER reports_map_version ON reports")
    op.execute("DROP FUNCTION bump_report_map_version()")
    op.execute("DROP SEQUENCE report_map_version")
