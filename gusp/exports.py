"""Exports of reports: CSV, XLSX, ODS and GeoJSON, for the spreadsheets of partners and meetings.

Never any personal data: no reporter contact (it lives in `reporter_contacts`, never read here),
no author account, no internal note, no photo, and not the description either — residents write
free text, and a name or a phone number often slips into it; the triage list shows it to those
who may see it. What is exported is the report's path through the workflow, its place and its
quartier: `COLUMNS` is the whole list, and tests assert it.

French spreadsheet habits: CSV in UTF-8 with a byte-order mark (so Excel reads the accents), `;`
between fields, decimal commas, dates as dd/mm/yyyy hh:mm in local time. XLSX and ODS carry real
date and number cells, displayed the same way. ODS is the format the Référentiel général
d'interopérabilité recommends to administrations.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from gusp import errors, states, stats
from gusp.models import Report, User

MAX_SPREADSHEET_ROWS = 100_000  # XLSX and ODS are built in memory; CSV and GeoJSON stream without limit
FR_DATETIME = "%d/%m/%Y %H:%M"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"

PRIORITY_LABELS = {"basse": "Basse", "normale": "Normale", "haute": "Haute", "urgente": "Urgente"}
SOURCE_LABELS = {"web": "Web", "agent": "Agent de terrain", "api": "API", "open311": "Open311"}
REJECTION_LABELS = {"hors_competence": "Hors compétence", "doublon": "Doublon", "non_fonde": "Non fondé",
                    "hors_perimetre": "Hors périmètre", "autre": "Autre"}
ATTRIBUTION_LABELS = {"perimetre": "Dans le périmètre", "hors_perimetre": "Hors périmètre"}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"  # text, datetime, int, float


COLUMNS: tuple[Column, ...] = (
    Column("reference", "Référence"),
    Column("created_at", "Créé le", "datetime"),
    Column("status", "Statut"),
    Column("category_code", "Code catégorie"),
    Column("category", "Catégorie"),
    Column("quartier_code", "Code quartier"),
    Column("quartier", "Quartier"),
    Column("attribution", "Rattachement"),
    Column("partner", "Partenaire"),
    Column("priority", "Priorité"),
    Column("source", "Canal"),
    Column("acknowledged_at", "Pris en compte le", "datetime"),
    Column("assigned_at", "Affecté le", "datetime"),
    Column("due_at", "Échéance", "datetime"),
    Column("resolved_at", "Résolu le", "datetime"),
    Column("closed_at", "Clos le", "datetime"),
    Column("handling_days", "Délai création → résolution (jours)", "float"),
    Column("overdue", "En retard"),
    Column("rejection_reason", "Motif de rejet"),
    Column("master_reference", "Doublon de"),
    Column("similar_count", "Signalements similaires", "int"),
    Column("lat", "Latitude", "float"),
    Column("lon", "Longitude", "float"),
)
_DATETIMES = tuple(c.key for c in COLUMNS if c.kind == "datetime")


def count(*, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo) -> int:
    query = select(func.count()).select_from(Report).where(*stats.conditions(session=session, scope=scope, tz=tz))
    return session.scalar(stats.visible(user, query))


def check_spreadsheet_size(*, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo) -> None:
    """XLSX and ODS are built whole in memory: refuse beyond MAX_SPREADSHEET_ROWS, pointing to CSV."""
    n = count(session=session, user=user, scope=scope, tz=tz)
    if n > MAX_SPREADSHEET_ROWS:
        raise errors.Unprocessable(
            "export_trop_volumineux",
            f"{n:,} signalements : au-delà de {MAX_SPREADSHEET_ROWS:,}, réduisez la période ou les filtres, "
            "ou choisissez le CSV.".replace(",", "\u202f"),
            count=n,
        )


def rows(*, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, now: datetime) -> Iterator[dict]:
    """The visible reports of the scope (created in the period), oldest first; datetimes in local time.

    The scope is checked here, at the call (an unknown quartier is a 422): a streamed export must
    fail before its first byte, not after a 200.
    """
    master = aliased(Report)
    query = (
        select(
            Report.reference, Report.created_at, Report.status, Report.category_code, Report.quartier_id,
            Report.attribution, Report.partner_id, Report.assigned_at, Report.priority, Report.source,
            Report.acknowledged_at, Report.due_at, Report.resolved_at, Report.closed_at, Report.rejection_reason,
            master.reference.label("master_reference"), Report.similar_count,
            func.ST_Y(Report.location).label("lat"), func.ST_X(Report.location).label("lon"),
        )
        .outerjoin(master, master.id == Report.master_report_id)
        .where(*stats.conditions(session=session, scope=scope, tz=tz))
        .order_by(Report.created_at, Report.id)
    )
    labels = stats.Labels.load(session)
    return _rows(session.execute(stats.visible(user, query).execution_options(yield_per=2000)), labels, now, tz)


def _rows(result, labels: stats.Labels, now: datetime, tz: ZoneInfo) -> Iterator[dict]:
    for r in result.mappings():
        quartier_code, quartier_name = labels.quartier(r["quartier_id"])
        status = states.ReportStatus(r["status"])
        row = {
            "reference": r["reference"],
            "status": states.STATUS_LABELS[status],
            "category_code": r["category_code"],
            "category": labels.categories.get(r["category_code"], r["category_code"]),
            "quartier_code": quartier_code,
            "quartier": quartier_name,
            "attribution": ATTRIBUTION_LABELS.get(r["attribution"], r["attribution"]),
            # The partner in charge once assigned; before that, only the one routing proposes.
            "partner": labels.partners.get(r["partner_id"]) if r["assigned_at"] else None,
            "priority": PRIORITY_LABELS.get(r["priority"], r["priority"]),
            "source": SOURCE_LABELS.get(r["source"], r["source"]),
            "overdue": "Oui" if status in states.OPEN and r["due_at"] and r["due_at"] < now else "Non",
            "rejection_reason": REJECTION_LABELS.get(r["rejection_reason"]) if r["rejection_reason"] else None,
            "master_reference": r["master_reference"],
            "similar_count": r["similar_count"],
            # Days from creation to resolution, two decimals (the statistics' median and 90th percentile
            # are taken over these, unrounded): empty while unresolved.
            "handling_days": (round((r["resolved_at"] - r["created_at"]).total_seconds() / 86400, 2)
                              if r["resolved_at"] else None),
            "lat": round(r["lat"], 6),
            "lon": round(r["lon"], 6),
        }
        for key in _DATETIMES:
            value = r[key]
            row[key] = value.astimezone(tz) if value else None
        yield row


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    """A cell starting with = + - @ (or a tab or CR) is a formula to a spreadsheet: names must stay text."""
    return text[:1] in FORMULA_STARTS


def _fr_text(value: object, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime":
        return value.strftime(FR_DATETIME)  # type: ignore[union-attr]
    if kind == "float":
        return f"{value}".replace(".", ",")
    text = str(value)
    return "'" + text if is_formula_like(text) else text  # CSV has no cell types: the quote keeps it text


def csv_chunks(records: Iterator[dict], *, chunk_rows: int = 1000) -> Iterator[bytes]:
    """UTF-8 with BOM, `;`, CRLF, decimal commas, dd/mm/yyyy hh:mm: what a French spreadsheet opens as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.title for c in COLUMNS])
    first = True
    for i, record in enumerate(records, 1):
        writer.writerow([_fr_text(record[c.key], c.kind) for c in COLUMNS])
        if i % chunk_rows == 0:
            yield _take(buffer, bom=first)
            first = False
    yield _take(buffer, bom=first)


def _take(buffer: io.StringIO, *, bom: bool) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def xlsx_bytes(records: Iterator[dict], extra_sheets: Callable | None = None) -> bytes:
    """A sheet « Signalements », header row frozen, dates as date cells shown dd/mm/yyyy hh:mm;
    `extra_sheets(book)` adds more (the summary and per-quartier sheets, `exports_tables`)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Signalements")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for c in COLUMNS:
        cell = WriteOnlyCell(sheet, value=c.title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for record in records:
        line = []
        for c in COLUMNS:
            value = record[c.key]
            if c.kind == "datetime" and value is not None:
                cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))  # Excel has no time zones
                cell.number_format = "DD/MM/YYYY HH:MM"
                line.append(cell)
            elif isinstance(value, str):
                line.append(xlsx_text(sheet, value))
            else:
                line.append(value)
        sheet.append(line)
    if extra_sheets is not None:
        extra_sheets(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_text(sheet, value: str):
    """A string cell, always: openpyxl turns any string starting with "=" into a live formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if cell.data_type == "f" or is_formula_like(value):
        cell.data_type = "s"
        cell.quotePrefix = True  # Excel keeps it text when the cell is edited
    return cell


def ods_bytes(records: Iterator[dict], extra_sheets: Callable | None = None) -> bytes:
    """OpenDocument spreadsheet (odfpy): typed cells, a date style dd/mm/yyyy hh:mm; `extra_sheets(doc)`
    adds more sheets after « Signalements »."""
    from odf import number, style, table, text
    from odf.opendocument import OpenDocumentSpreadsheet

    doc = OpenDocumentSpreadsheet()
    date_style = number.DateStyle(name="fr-datetime")
    for part in (number.Day(style="long"), "/", number.Month(style="long"), "/", number.Year(style="long"), " ",
                 number.Hours(style="long"), ":", number.Minutes(style="long")):
        date_style.addElement(number.Text(text=part) if isinstance(part, str) else part)
    doc.automaticstyles.addElement(date_style)
    date_cell = style.Style(name="cell-datetime", family="table-cell", datastylename="fr-datetime")
    doc.automaticstyles.addElement(date_cell)
    sheet = table.Table(name="Signalements")
    header = table.TableRow()
    for c in COLUMNS:
        cell = table.TableCell(valuetype="string")
        cell.addElement(text.P(text=c.title))
        header.addElement(cell)
    sheet.addElement(header)
    for record in records:
        line = table.TableRow()
        for c in COLUMNS:
            line.addElement(_ods_cell(record[c.key], c.kind, date_cell, table, text))
        sheet.addElement(line)
    doc.spreadsheet.addElement(sheet)
    if extra_sheets is not None:
        extra_sheets(doc)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def _ods_cell(value: object, kind: str, date_cell, table, text):
    if value is None:
        return table.TableCell()
    if kind == "datetime":
        cell = table.TableCell(valuetype="date", datevalue=value.replace(tzinfo=None).isoformat(timespec="seconds"),  # type: ignore[union-attr]
                               stylename=date_cell)
    elif kind in ("int", "float"):
        cell = table.TableCell(valuetype="float", value=value)
    else:  # a typed string cell is never a formula in ODS: no quote needed (it would show)
        cell = table.TableCell(valuetype="string")
        cell.addElement(text.P(text=str(value)))
        return cell
    cell.addElement(text.P(text=_fr_text(value, kind)))
    return cell


def geojson_chunks(records: Iterator[dict], *, chunk_rows: int = 1000) -> Iterator[bytes]:
    """A FeatureCollection of points (WGS84), dates ISO 8601 with their offset; streamed."""
    yield b'{"type": "FeatureCollection", "features": ['
    parts: list[str] = []
    first = True
    for record in records:
        properties = {c.key: _iso(record[c.key]) if c.kind == "datetime" else record[c.key]
                      for c in COLUMNS if c.key not in ("lat", "lon")}
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [record["lon"], record["lat"]]},
                   "properties": properties}
        parts.append(("" if first else ",") + json.dumps(feature, ensure_ascii=False))
        first = False
        if len(parts) >= chunk_rows:
            yield "".join(parts).encode()
            parts = []
    yield ("".join(parts) + "]}").encode()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
