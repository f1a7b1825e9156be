"""Intake as a service: all or nothing, the first event, the attribution snapshot."""

from __future__ import annotations

import io

import pytest
import sqlalchemy.exc
from sqlalchemy import func, select, text

from gusp import db, errors, intake, partners, schemas, storage
from gusp.storage import sweep
from gusp.storage.local import LocalStorage
from gusp.models import OutboxMessage, Quartier, Report, ReportEvent, ReportPhoto
from tests import builders

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)


class FullDisk(LocalStorage):
    """The real local storage, whose disk fills up after a number of files (a real full disk: tests/storage)."""

    def __init__(self, root, *, room_for: int):
        super().__init__(root)
        self.room_for = room_for

    def put(self, key: str, data: bytes) -> bool:
        if self.room_for == 0:
            raise storage.full(str(self.root))
        self.room_for -= 1
        return super().put(key, data)


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Report, ReportPhoto, ReportEvent))


def create(session, settings, store, photos=(), **overrides):
    data = schemas.ReportCreate.model_validate(builders.form(session, **overrides))
    return intake.create_report(
        session=session, settings=settings, storage=store, data=data, uploads=[io.BytesIO(p) for p in photos]
    )


def unreferenced(session, settings) -> bool:
    """Every stored file is one no row names: the media sweep will remove it."""
    keys = [o.key for o in storage.from_settings(settings).list()]
    return not sweep.referenced(session, keys)


def test_files_are_written_before_any_row(session, settings):
    store = FullDisk(settings.media_dir, room_for=3)
    photos = [builders.jpeg(900, 600, colour=(i * 40, 90, 90)) for i in range(3)]
    sequence = text("SELECT (last_value, is_called)::text FROM report_reference_seq")
    before = session.scalar(sequence)

    with pytest.raises(errors.InsufficientStorage), db.transaction(session):
        create(session, settings, store, photos)

    assert counts(session) == (0, 0, 0)
    assert session.scalar(sequence) == before  # no reference taken, no gap
    assert len(builders.stored_files(settings)) == 3 and unreferenced(session, settings)


def test_a_database_failure_leaves_no_row_and_files_for_the_sweep(session, settings):
    session.execute(text(
        "CREATE FUNCTION fail_photo() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disque plein'; END $$;"
        "CREATE TRIGGER fail_photo BEFORE INSERT ON report_photos FOR EACH ROW EXECUTE FUNCTION fail_photo()"
    ))
    session.commit()

    with pytest.raises(sqlalchemy.exc.DBAPIError), db.transaction(session):
        create(session, settings, storage.from_settings(settings), [builders.jpeg()])

    assert counts(session) == (0, 0, 0)
    assert len(builders.stored_files(settings)) == 2 and unreferenced(session, settings)


def test_a_file_shared_with_a_committed_report_survives_a_failed_intake(session, settings):
    photo = builders.jpeg(700, 500)
    with db.transaction(session):
        create(session, settings, storage.from_settings(settings), [photo])
    kept = builders.stored_files(settings)

    with pytest.raises(errors.InsufficientStorage), db.transaction(session):
        create(session, settings, FullDisk(settings.media_dir, room_for=2), [photo, builders.jpeg(300, 300)])

    assert set(kept) <= set(builders.stored_files(settings))
    assert counts(session) == (1, 1, 1)


def test_created_event_records_source_and_attribution(session, settings):
    report, replayed = create(session, settings, storage.from_settings(settings), source="web")

    [event] = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
    assert not replayed
    assert (event.kind, event.source, event.note_public) == ("created", "web", True)
    assert event.data == {
        "status": "nouveau",
        "category": "proprete",
        "attribution": "perimetre",
        "quartier_id": report.quartier_id,
        "photos": 0,
        "likely_duplicates": [],
    }


def test_event_log_is_append_only(session, settings):
    report, _ = create(session, settings, storage.from_settings(settings))
    session.commit()

    for statement in ("UPDATE report_events SET note = 'x'", "DELETE FROM report_events"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement))
    assert session.scalar(select(func.count()).select_from(ReportEvent)) == 1


def test_attribution_is_a_snapshot_that_perimeter_changes_do_not_rewrite(session, settings, tmp_path):
    report, _ = create(session, settings, storage.from_settings(settings), quartier=builders.ENCAGNANE)
    encagnane = session.scalars(select(Quartier).where(Quartier.code == builders.ENCAGNANE)).one()
    assert (report.attribution, report.quartier_id) == ("perimetre", encagnane.id)

    # Encagnane's perimeter moves 5 km north: the old report keeps its quartier.
    session.execute(text("UPDATE quartiers SET geom = ST_Translate(geom, 0, 0.045) WHERE code = :c"),
                    {"c": builders.ENCAGNANE})
    session.expire_all()
    kept = session.get(Report, report.id)
    assert (kept.attribution, kept.quartier_id) == ("perimetre", encagnane.id)


def test_description_is_optional_with_a_photo(session, settings):
    report, _ = create(session, settings, storage.from_settings(settings), [builders.jpeg()], description="")
    assert report.description == ""
    with pytest.raises(errors.InvalidFields) as refused:
        create(session, settings, storage.from_settings(settings), description="")
    assert refused.value.code == "description_manquante"


def test_likely_duplicates_are_recorded_at_creation(session, settings):
    first, _ = create(session, settings, storage.from_settings(settings), quartier=builders.ENCAGNANE)
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    second, _ = create(session, settings, storage.from_settings(settings), lat=lat, lon=lon + 0.0001)  # ~8 m east
    other, _ = create(session, settings, storage.from_settings(settings), category="eclairage")

    created = session.scalars(select(ReportEvent).where(ReportEvent.report_id == second.id)).one()
    assert created.data["likely_duplicates"] == [first.reference]
    other_event = session.scalars(select(ReportEvent).where(ReportEvent.report_id == other.id)).one()
    assert other_event.data["likely_duplicates"] == []


def test_reporter_is_told_of_the_reference_only_with_consent(session, settings):
    with_consent, _ = create(session, settings, storage.from_settings(settings),
                             contact_email="oui@example.org", contact_consent="true")
    create(session, settings, storage.from_settings(settings))

    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "report_received")).all()
    assert [(m.recipient, m.report_id) for m in mails] == [("oui@example.org", with_consent.id)]
    assert with_consent.reference in mails[0].subject


def test_routing_proposes_the_partner_without_handing_it_over(session, settings):
    ville = partners.create_partner(session=session, name="Ville – propreté", kind="ville", emails=["p@v.example"])
    partners.create_rule(session=session, category_code="proprete", partner_id=ville.id)

    report, _ = create(session, settings, storage.from_settings(settings))

    assert (report.partner_id, report.assigned_at, report.status) == (ville.id, None, "nouveau")
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "report_assigned")).all() == []

