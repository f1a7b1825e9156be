"""The dashboard's tables (`stats_tables`) written out: one CSV per table, and the summary and
per-quartier sheets of the XLSX and ODS exports.

Numbers are rounded once, here, as on the dashboard and in the pack: rates to one decimal,
shares to the whole percent, days to one decimal (`typography.number`, halves up). Spreadsheets
get the unrounded number in the cell and the same rounding as its display format.
"""

from __future__ import annotations

import csv
import io

from gusp import exports, stats_tables
from gusp.pdf import typography

SUMMARY_SHEET = "Synthèse"
QUARTIER_SHEET = "Par quartier"
_XLSX_FORMATS = {"int": "#,##0", "rate": "0.0", "share": "0%", "days": "0.0"}
_DECIMALS = {"int": 0, "rate": 1, "days": 1}


def shown(value: object, kind: str) -> str:
    """The value as the dashboard shows it; « — » for none."""
    if value is None:
        return "—"
    if kind == "text":
        return str(value)
    if kind == "share":
        return f"{typography.number(100 * value, narrow=' ')} %"  # type: ignore[operator]
    return typography.number(value, decimals=_DECIMALS[kind], narrow="")  # type: ignore[arg-type]


def csv_bytes(table: stats_tables.Table) -> bytes:
    """UTF-8 with BOM, `;`: the table's header, its rows, its total rows, then its definition."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in [*table.rows, *table.footer]:
        writer.writerow([_csv_safe(shown(v, k)) for v, k in zip(row, table.kinds, strict=True)])
    writer.writerow([])
    writer.writerow([f"Définition : {table.definition}"])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_safe(text: str) -> str:
    return "'" + text if exports.is_formula_like(text) and text != "—" else text


def xlsx_sheets(book, tables: list[stats_tables.Table]) -> None:
    """Adds the summary sheet (every table, one under the other) and the per-quartier sheet."""
    summary = book.create_sheet(SUMMARY_SHEET)
    for table in tables:
        _xlsx_table(summary, table)
        summary.append([])
    quartier = next((t for t in tables if t.key == "quartiers"), None)
    if quartier is not None:
        _xlsx_table(book.create_sheet(QUARTIER_SHEET), quartier)


def _xlsx_table(sheet, table: stats_tables.Table) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)

    def text(value: str, strong: bool = False):
        cell = exports.xlsx_text(sheet, value)
        if strong:
            cell.font = bold
        return cell

    sheet.append([text(table.title, True)])
    sheet.append([text(f"Définition : {table.definition}")])
    sheet.append([text(h, True) for h in table.headers])
    for i, row in enumerate([*table.rows, *table.footer]):
        strong = i >= len(table.rows)
        line = []
        for value, kind in zip(row, table.kinds, strict=True):
            if kind == "text" or value is None:
                line.append(text("—" if value is None else str(value), strong))
                continue
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = _XLSX_FORMATS[kind]
            if strong:
                cell.font = bold
            line.append(cell)
        sheet.append(line)


def ods_sheets(doc, tables: list[stats_tables.Table]) -> None:
    """The same two sheets in OpenDocument: float cells with their value, shown rounded."""
    from odf import table as odf_table
    from odf import text as odf_text

    def sheet_of(name: str, content: list[stats_tables.Table]):
        sheet = odf_table.Table(name=name)
        for t in content:
            for row in ([t.title], [f"Définition : {t.definition}"], t.headers):
                sheet.addElement(_ods_row([(v, "text") for v in row], odf_table, odf_text))
            for row in [*t.rows, *t.footer]:
                sheet.addElement(_ods_row(list(zip(row, t.kinds, strict=True)), odf_table, odf_text))
            sheet.addElement(odf_table.TableRow())
        doc.spreadsheet.addElement(sheet)

    sheet_of(SUMMARY_SHEET, tables)
    sheet_of(QUARTIER_SHEET, [t for t in tables if t.key == "quartiers"])


def _ods_row(cells: list[tuple[object, str]], odf_table, odf_text):
    row = odf_table.TableRow()
    for value, kind in cells:
        if kind == "text" or value is None:
            cell = odf_table.TableCell(valuetype="string")
        elif kind == "share":
            cell = odf_table.TableCell(valuetype="percentage", value=value)
        else:
            cell = odf_table.TableCell(valuetype="float", value=value)
        cell.addElement(odf_text.P(text=shown(value, kind)))
        row.addElement(cell)
    return row
