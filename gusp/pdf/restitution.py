"""The restitution of a walking diagnostic, as an A4 PDF: the walk, its numbered findings on a map,
each with its photo, its partner in charge and where its follow-up stands today."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer
from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import diagnostics, states
from gusp.config import Settings
from gusp.models.diagnostics import (
    FINDING_LABELS,
    Diagnostic,
    DiagnosticFinding,
    FindingKind,
)
from gusp.pdf import drawing, layout, mapdata, typography
from gusp.storage import PhotoStorage

PROBLEM_COLOUR = drawing.OPEN_COLOUR
LEGEND = ((PROBLEM_COLOUR, "Problème"), (drawing.POSITIVE_COLOUR, "Point positif"),
          (drawing.ROUTE_COLOUR, "Parcours"))
_PHOTO = 26 * mm


def render(*, session: Session, settings: Settings, storage: PhotoStorage, diagnostic: Diagnostic) -> bytes:
    tz = ZoneInfo(settings.timezone)
    st = layout.styles()
    found = diagnostics.findings(session=session, diagnostic=diagnostic)
    progress = diagnostics.progress(session=session, diagnostic=diagnostic)
    edited = session.scalar(text("SELECT clock_timestamp()")).astimezone(tz)
    narrow = st.fonts.narrow_space
    quartier = diagnostic.quartier.nom
    story: list[Flowable] = [
        st.p("Diagnostic en marchant — restitution", st.title),
        Spacer(1, 3 * mm),
        st.p(diagnostic.title, st.subtitle),
        st.p(f"{quartier}, le {typography.day(diagnostic.held_on)}", st.subtitle),
        Spacer(1, 3 * mm),
        st.p(f"Participants : {diagnostic.participants or 'non renseignés'}"),
        st.p(f"Partenaires : {', '.join(p.name for p in diagnostic.partners) or 'aucun partenaire invité'}"),
        st.p(f"Restitution éditée le {typography.day_time(edited)}.", st.small),
        Spacer(1, 4 * mm),
        st.p("En bref", st.h1),
        st.p(f"{typography.plural(len(found), 'constat', narrow=narrow)} : "
             f"{typography.plural(progress.problems, 'problème', narrow=narrow)}, "
             f"{typography.plural(progress.positive_points, 'point positif', 'points positifs', narrow=narrow)}."),
        st.p(f"Suivi des problèmes : {typography.plural(progress.treated, 'réglé', narrow=narrow)} sur "
             f"{typography.number(progress.problems, narrow=narrow)} (résolus ou clos), "
             f"{typography.number(progress.open, narrow=narrow)} en cours, "
             f"{typography.plural(progress.rejected, 'rejeté', narrow=narrow)}."),
        Spacer(1, 4 * mm),
        KeepTogether([st.p("Carte des constats", st.h1), _map(session, diagnostic, found, st)]),
        st.p("Fond : périmètre officiel du quartier en Lambert-93, sans fond de plan ; les numéros renvoient à "
             "la liste.", st.small),
        Spacer(1, 4 * mm),
        st.p("Constats", st.h1),
    ]
    story.append(_table(found, storage, st) if found else st.p("Aucun constat enregistré."))
    return layout.render(story, title=f"Diagnostic en marchant — {diagnostic.title}", st=st,
                         footer=f"GUSP — diagnostic en marchant — {quartier} — {typography.day(diagnostic.held_on)}")


def _map(session: Session, diagnostic: Diagnostic, found: list[DiagnosticFinding], st: layout.Styles) -> Flowable:
    reports = mapdata.report_points(session, [f.report_id for f in found if f.report_id is not None])
    positives = mapdata.finding_points(session, [f.id for f in found if f.report_id is None])
    points = []
    for finding in found:
        xy = reports.get(finding.report_id) if finding.report_id is not None else positives.get(finding.id)
        if xy is not None:
            colour = PROBLEM_COLOUR if finding.kind == FindingKind.PROBLEME else drawing.POSITIVE_COLOUR
            points.append(drawing.MapPoint(*xy, colour=colour, label=str(finding.number)))
    route = mapdata.route(session, diagnostic.id)
    layers = drawing.MapLayers(polygons=mapdata.perimeters(session, [diagnostic.quartier_id]),
                               lines=[route] if route else [], points=points)
    return drawing.map_drawing(layers, width=layout.CONTENT_WIDTH, height=125 * mm, font=st.fonts.regular,
                               legend=LEGEND if route else LEGEND[:2])


def _table(found: list[DiagnosticFinding], storage: PhotoStorage, st: layout.Styles) -> Flowable:
    header = ["N°", "Constat", "Description", "Partenaire en charge", "Suivi", "Photo"]
    rows: list[list] = [[st.p(h, st.cell_bold) for h in header]]
    for finding in found:
        report = finding.report
        kind = FINDING_LABELS[FindingKind(finding.kind)]
        if report is not None:
            partner = diagnostics.partner_in_charge(finding)
            status = states.STATUS_LABELS[states.ReportStatus(report.status)]
            first = next((p for p in report.photos if p.kind == "signalement"), None)
            cells = [st.lines([kind, report.category.label]), st.p(report.description or "—", st.cell),
                     st.p(partner.name if partner else "à désigner", st.cell), st.lines([status, report.reference])]
        else:
            first = finding.photos[0] if finding.photos else None
            cells = [st.p(kind, st.cell), st.p(finding.description or "—", st.cell), st.p("—", st.cell),
                     st.p("—", st.cell)]
        rows.append([st.p(str(finding.number), st.cell_bold), *cells,
                     layout.photo(storage, first.thumbnail_key if first else None, width=_PHOTO, height=_PHOTO,
                                  st=st)])
    widths = [10 * mm, 27 * mm, 0, 30 * mm, 33 * mm, 30 * mm]
    widths[2] = layout.CONTENT_WIDTH - sum(widths)
    return layout.data_table(rows, widths=widths, st=st)
