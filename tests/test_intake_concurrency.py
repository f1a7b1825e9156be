"""Two deliveries of the same report at the same moment (a phone retrying): one report."""

from __future__ import annotations

import io
import threading

from sqlalchemy import func, select

from gusp import db, intake, schemas, storage
from gusp.models import Report, ReportPhoto
from tests import builders


def test_concurrent_retries_with_one_key_create_one_report(committed_settings):
    settings = committed_settings
    engine = db.make_engine(settings.database_url)
    sessions = db.make_sessionmaker(engine)
    with sessions() as session:
        fields = builders.form(session)
    photo = builders.jpeg(1600, 1200)
    data = schemas.ReportCreate.model_validate(fields)
    start = threading.Barrier(4)
    outcomes: list[tuple[str, bool]] = []
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            with sessions() as session:
                start.wait()
                with db.transaction(session):
                    report, replayed = intake.create_report(
                        session=session, settings=settings, storage=storage.from_settings(settings),
                        data=data, uploads=[io.BytesIO(photo)], idempotency_key="retry-42",
                    )
                outcomes.append((report.reference, replayed))
        except BaseException as error:  # reported below, with the assertion
            failures.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    try:
        assert failures == []
        assert len({reference for reference, _ in outcomes}) == 1
        assert sorted(replayed for _, replayed in outcomes) == [False, True, True, True]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Report)) == 1
            assert session.scalar(select(func.count()).select_from(ReportPhoto)) == 1
        assert len(builders.stored_files(settings)) == 2
    finally:
        engine.dispose()


def test_concurrent_retries_without_photo_create_one_report(committed_settings):
    """The no-photo intake (gusp.intake_lean) has no lock: the unique key makes the retries wait and replay."""
    from gusp import intake_lean
    from gusp.public import views

    settings = committed_settings
    engine = db.make_engine(settings.database_url)
    sessions = db.make_sessionmaker(engine)
    with sessions() as session:
        data = schemas.ReportCreate.model_validate(builders.form(session))
    start = threading.Barrier(4)
    outcomes: list[tuple[str, bool]] = []
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            with sessions() as session:
                start.wait()
                with db.transaction(session):
                    taken = intake_lean.take_in(
                        session=session, settings=settings, data=data, author=None, idempotency_key="retry-lean",
                        client="203.0.113.9",
                        public_view=lambda report: views.to_public(session, report, settings=settings),
                    )
                outcomes.append((taken.public.reference, taken.replayed))
        except BaseException as error:  # reported below, with the assertion
            failures.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    try:
        assert failures == []
        assert len({reference for reference, _ in outcomes}) == 1
        assert sorted(replayed for _, replayed in outcomes) == [False, True, True, True]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Report)
                                  .where(Report.idempotency_key == "retry-lean")) == 1
    finally:
        engine.dispose()
