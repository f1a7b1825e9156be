"""Dependencies as `Annotated` aliases: the session, the settings, the photo storage, a report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import errors
from gusp.config import Settings
from gusp.models import Report
from gusp.storage import PhotoStorage


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_storage(request: Request) -> PhotoStorage:
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
