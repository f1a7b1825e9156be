"""Two deliveries of the same report at the same moment (a phone retrying): one report."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

from sqlalchemy import func, select

from gusp import db, intake, schemas, storage
from gusp.models import Report, ReportPhoto
from tests import builders

DELIVERIES = 4


def deliver_together(deliver: Callable[[], tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Run `deliver` in DELIVERIES threads released at one instant; their (reference, replayed)
    outcomes, or the first error any of them raised."""
    start = threading.Barrier(DELIVERIES)
    outcomes: list[tuple[str, bool]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            outcomes.append(deliver())
        except BaseException as error:  # reported below, with the assertion
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(DELIVERIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return outcomes


def test_concurrent_retries_with_one_key_create_one_report(committed_settings):
    settings = committed_settings
    engine = db.make_engine(settings.database_url)
    sessions = db.make_sessionmaker(engine)
    with sessions() as session:
        fields = builders.form(session)
    photo = builders.jpeg(1600, 1200)
    data = schemas.ReportCreate.model_validate(fields)

    def deliver() -> tuple[str, bool]:
        with sessions() as session, db.transaction(session):
            report, replayed = intake.create_report(
                session=session, settings=settings, storage=storage.from_settings(settings),
                data=data, uploads=[io.BytesIO(photo)], idempotency_key="retry-42",
            )
            return report.reference, replayed

    try:
        outcomes = deliver_together(deliver)
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

    def deliver() -> tuple[str, bool]:
        with sessions() as session, db.transaction(session):
            taken = intake_lean.take_in(
                session=session, settings=settings, data=data, author=None, idempotency_key="retry-lean",
                client="203.0.113.9",
                public_view=lambda report: views.to_public(session, report, settings=settings),
            )
            return taken.public.reference, taken.replayed

    try:
        outcomes = deliver_together(deliver)
        assert len({reference for reference, _ in outcomes}) == 1
        assert sorted(replayed for _, replayed in outcomes) == [False, True, True, True]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Report)
                                  .where(Report.idempotency_key == "retry-lean")) == 1
    finally:
        engine.dispose()
