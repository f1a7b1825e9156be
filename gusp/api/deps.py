"""Dependencies as `Annotated` aliases: the session, the settings, the photo storage, a report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import errors
from gusp.config import Settings
from gusp.models import Report
from gusp.storage import PhotoStorage


# The dependencies below are `async def` although they do no I/O: FastAPI runs a plain `def`
# dependency in the thread pool, and each hop there and back costs more than the work itself.


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request; it opens a connection only when first used (in the route's thread)."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        if session.get_transaction() is None:  # committed or never used: closing does no I/O
            session.close()
        else:  # a transaction still open is rolled back: a round trip, off the event loop
            await run_in_threadpool(session.close)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_storage(request: Request) -> PhotoStorage:
    return request.app.state.storage


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[PhotoStorage, Depends(get_storage)]


def get_report(
    session: SessionDep,
    reference: Annotated[str, Path(description="Référence publique, par exemple GUSP-2026-000123.")],
) -> Report:
    report = session.scalars(select(Report).where(Report.reference == reference.strip().upper())).first()
    if report is None:
        raise errors.NotFound("signalement_introuvable", f"Aucun signalement ne porte la référence {reference}.")
    return report


ReportDep = Annotated[Report, Depends(get_report)]
