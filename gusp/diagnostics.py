"""Walking diagnostics (diagnostics en marchant): the walk, its numbered findings, their follow-up.

A problem found on the walk is a report made through the normal intake with the agent as author
(source `agent`): it is routed, triaged and resolved like any other, and counts in the figures.
A positive point is not a report: it is kept on the finding, with its photos. Findings are
numbered 1, 2, 3… per diagnostic, in the order they arrive, under a lock on the diagnostic row.

Who sees a diagnostic: coordinators, admins and field agents every one; a partner's members the
walks their partner was invited to; an operational group the walks of its quartiers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import shapely
from geoalchemy2.elements import WKTElement
from shapely.geometry import shape
from sqlalchemy import Select, false, func, select, text, true
from sqlalchemy.orm import Session

from gusp import access, errors, intake, photos, schemas, states
from gusp.config import Settings
from gusp.models import Partner, Quartier, Report, User, UserQuartier
from gusp.models.diagnostics import (
    Diagnostic,
    DiagnosticFinding,
    DiagnosticPartner,
    DiagnosticPhoto,
    FindingKind,
)
from gusp.schemas_diagnostics import ROUTE_MAX_POINTS, DiagnosticCreate, FindingCreate
from gusp.storage import PhotoStorage

ALL_DIAGNOSTICS = frozenset({states.Role.COORDINATEUR, states.Role.ADMIN, states.Role.AGENT})


@dataclass(frozen=True)
class Progress:
    problems: int
    open: int
    resolved: int
    closed: int
    rejected: int
    positive_points: int

    @property
    def treated(self) -> int:
        """Resolved or closed after resolution: what the walk got fixed."""
        return self.resolved + self.closed


def create_diagnostic(*, session: Session, data: DiagnosticCreate, author: User) -> Diagnostic:
    """Record a walk; every invalid field is reported at once and nothing is written."""
    problems: list[errors.GuspError] = []
    quartier = session.scalars(select(Quartier).where(Quartier.code == data.quartier)).first()
    if quartier is None:
        problems.append(errors.Unprocessable("quartier_inconnu", f"Quartier inconnu : {data.quartier}.",
                                             field="quartier"))
    partner_list = _partners(session, data.partner_ids, problems)
    route = _route(data.route, problems)
    if problems:
        raise errors.InvalidFields(problems)
    diagnostic = Diagnostic(quartier_id=quartier.id, held_on=data.date, title=data.title,
                            participants=data.participants, route=route, created_by_user_id=author.id)
    session.add(diagnostic)
    session.flush()
    session.add_all(DiagnosticPartner(diagnostic_id=diagnostic.id, partner_id=p.id) for p in partner_list)
    session.flush()
    session.refresh(diagnostic)
    return diagnostic


def set_route(*, session: Session, diagnostic: Diagnostic, route: dict | None) -> Diagnostic:
    """The route drawn before the walk, or recorded by a phone during it; None clears it."""
    problems: list[errors.GuspError] = []
    geometry = _route(route, problems)
    if problems:
        raise errors.InvalidFields(problems)
    diagnostic.route = geometry
    session.flush()
    session.refresh(diagnostic)
    return diagnostic


def close(*, session: Session, diagnostic: Diagnostic) -> Diagnostic:
    """The walk is over: no more findings (their follow-up goes on in the workflow)."""
    if diagnostic.closed_at is None:
        diagnostic.closed_at = session.scalar(text("SELECT clock_timestamp()"))
        session.flush()
    return diagnostic


def _partners(session: Session, ids: Sequence[int], problems: list[errors.GuspError]) -> list[Partner]:
    wanted = sorted(set(ids))
    found = list(session.scalars(select(Partner).where(Partner.id.in_(wanted)))) if wanted else []
    missing = sorted(set(wanted) - {p.id for p in found})
    if missing:
        problems.append(errors.Unprocessable(
            "partenaire_inconnu", f"Partenaire inconnu : {', '.join(map(str, missing))}.", field="partner_ids"))
    return found


def _route(raw: dict | None, problems: list[errors.GuspError]) -> WKTElement | None:
    if raw is None:
        return None
    refused = errors.Unprocessable(
        "parcours_invalide", "Le parcours doit être une ligne GeoJSON (LineString) d'au moins deux points en WGS84.",
        field="route")
    try:
        line = shape(raw)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, shapely.errors.ShapelyError):
        problems.append(refused)
        return None
    coords = list(line.coords) if isinstance(line, shapely.LineString) and not line.is_empty else []
    if len(coords) < 2 or len(coords) > ROUTE_MAX_POINTS or not all(
            math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90 for x, y, *_ in coords):
        problems.append(refused)
        return None
    return WKTElement(shapely.to_wkt(shapely.force_2d(line), rounding_precision=7), srid=4326)


def visible_diagnostics(user: User, query: Select | None = None) -> Select:
    """The diagnostic query narrowed to what this user may see."""
    query = query if query is not None else select(Diagnostic)
    role = access.role(user)
    if role in ALL_DIAGNOSTICS:
        return query.where(true())
    if role is states.Role.PARTENAIRE:
        invited = select(DiagnosticPartner.diagnostic_id).where(DiagnosticPartner.partner_id == user.partner_id)
        return query.where(Diagnostic.id.in_(invited))
    if role is states.Role.GROUPE:
        mine = select(UserQuartier.quartier_id).where(UserQuartier.user_id == user.id)
        return query.where(Diagnostic.quartier_id.in_(mine))
    return query.where(false())


def get_visible(*, session: Session, user: User, diagnostic_id: int) -> Diagnostic:
    """The diagnostic, or the same 404 whether it is missing or hidden from this user."""
    found = session.scalars(visible_diagnostics(user, select(Diagnostic).where(Diagnostic.id == diagnostic_id))).first()
    if found is None:
        raise errors.NotFound("diagnostic_introuvable", f"Aucun diagnostic n°{diagnostic_id}.")
    return found


def list_diagnostics(*, session: Session, user: User, quartier: str | None = None) -> list[Diagnostic]:
    query = select(Diagnostic).order_by(Diagnostic.held_on.desc(), Diagnostic.id.desc())
    if quartier:
        query = query.join(Quartier, Quartier.id == Diagnostic.quartier_id).where(Quartier.code == quartier)
    return list(session.scalars(visible_diagnostics(user, query)).unique())


def add_finding(
    *,
    session: Session,
    settings: Settings,
    storage: PhotoStorage,
    diagnostic: Diagnostic,
    data: FindingCreate,
    uploads: Sequence[BinaryIO] = (),
    author: User,
) -> DiagnosticFinding:
    """Capture a finding: a problem becomes a report (author = the agent), a positive point keeps its photos."""
    _refuse_closed(diagnostic)
    if data.kind is FindingKind.PROBLEME:
        if not data.category:
            raise errors.InvalidFields([errors.Unprocessable(
                "categorie_manquante", "Choisissez la catégorie du problème.", field="category")])
        report_data = schemas.ReportCreate(category=data.category, description=data.description, lat=data.lat,
                                           lon=data.lon, accuracy_m=data.accuracy_m)
        report, _ = intake.create_report(session=session, settings=settings, storage=storage, data=report_data,
                                         uploads=uploads, author=author)
        finding = DiagnosticFinding(kind=FindingKind.PROBLEME, report_id=report.id)
        return _numbered(session, diagnostic, finding, author)
    processed = _positive_photos(session=session, settings=settings, data=data, uploads=uploads)
    finding = DiagnosticFinding(kind=FindingKind.POINT_POSITIF, description=data.description,
                                location=WKTElement(f"POINT({data.lon!r} {data.lat!r})", srid=4326))
    finding = _numbered(session, diagnostic, finding, author)
    _store_photos(session=session, storage=storage, finding=finding, processed=processed)
    return finding


def _refuse_closed(diagnostic: Diagnostic) -> None:
    if diagnostic.closed_at is not None:
        raise errors.Conflict("diagnostic_clos", "Ce diagnostic est clos : on ne peut plus y ajouter de constat.")


def _numbered(session: Session, diagnostic: Diagnostic, finding: DiagnosticFinding, author: User) -> DiagnosticFinding:
    """Give the next number: the diagnostic row is locked until commit, so two phones never get the same one."""
    closed_at = session.scalar(select(Diagnostic.closed_at).where(Diagnostic.id == diagnostic.id).with_for_update())
    if closed_at is not None:  # closed while this finding was being processed
        raise errors.Conflict("diagnostic_clos", "Ce diagnostic est clos : on ne peut plus y ajouter de constat.")
    last = session.scalar(select(func.max(DiagnosticFinding.number))
                          .where(DiagnosticFinding.diagnostic_id == diagnostic.id))
    finding.diagnostic_id = diagnostic.id
    finding.number = (last or 0) + 1
    finding.created_by_user_id = author.id
    session.add(finding)
    session.flush()
    return finding


def _positive_photos(*, session: Session, settings: Settings, data: FindingCreate,
                     uploads: Sequence[BinaryIO]) -> list[photos.ProcessedPhoto]:
    """The checks of the report form, then every photo decoded before anything is written."""
    problems: list[errors.GuspError] = []
    if not data.description and not uploads:
        problems.append(errors.Unprocessable(
            "description_manquante", "Décrivez ce point positif en quelques mots, ou joignez une photo.",
            field="description"))
    if len(uploads) > settings.max_photos:
        problems.append(errors.Unprocessable(
            "trop_de_photos", f"Vous pouvez joindre au plus {settings.max_photos} photos.", field="photos"))
    if problems:
        raise errors.InvalidFields(problems)
    intake.require_in_territory(session=session, settings=settings, lat=data.lat, lon=data.lon)
    return intake.process_uploads(uploads, settings=settings)


def _store_photos(*, session: Session, storage: PhotoStorage, finding: DiagnosticFinding,
                  processed: Sequence[photos.ProcessedPhoto]) -> None:
    """As intake stores report photos: files first, then the rows that name them."""
    intake.store_files(session=session, storage=storage, processed=processed, originals=False)
    for position, photo in enumerate(processed):
        session.add(DiagnosticPhoto(finding_id=finding.id, **DiagnosticPhoto.columns(photo, position=position)))
    session.flush()
    session.refresh(finding)


def findings(*, session: Session, diagnostic: Diagnostic) -> list[DiagnosticFinding]:
    query = (select(DiagnosticFinding).where(DiagnosticFinding.diagnostic_id == diagnostic.id)
             .order_by(DiagnosticFinding.number))
    return list(session.scalars(query).unique())


def progress(*, session: Session, diagnostic: Diagnostic) -> Progress:
    """How far the walk's problems went in the workflow, read from their reports' statuses now."""
    rows = dict(session.execute(
        select(Report.status, func.count())
        .join(DiagnosticFinding, DiagnosticFinding.report_id == Report.id)
        .where(DiagnosticFinding.diagnostic_id == diagnostic.id)
        .group_by(Report.status)
    ).all())
    positives = session.scalar(select(func.count()).select_from(DiagnosticFinding).where(
        DiagnosticFinding.diagnostic_id == diagnostic.id, DiagnosticFinding.kind == FindingKind.POINT_POSITIF))
    return Progress(
        problems=sum(rows.values()),
        open=sum(rows.get(s.value, 0) for s in states.OPEN),
        resolved=rows.get(states.ReportStatus.RESOLU.value, 0),
        closed=rows.get(states.ReportStatus.CLOS.value, 0),
        rejected=rows.get(states.ReportStatus.REJETE.value, 0),
        positive_points=positives,
    )


def partner_in_charge(finding: DiagnosticFinding) -> Partner | None:
    """The partner a problem's report is routed or assigned to."""
    return finding.report.partner if finding.report is not None else None
