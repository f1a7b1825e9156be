"""Exports read back with their own readers: csv (BOM, `;`, French dates and decimals), openpyxl,
pyexcel-ods3 and json; never any personal data in any of them."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime

import openpyxl
import pyexcel_ods3
import pytest

from gusp import errors, exports, stats, triage
from tests import builders
from tests.builders_stats import PARIS, at, partner, report

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

SCOPE = stats.Scope(period=stats.Period(start=date(2024, 1, 1), end=date(2024, 3, 31)))
NOW = at(2024, 4, 10)
CONTACT = {"contact_name": "Fatima Zerrouki", "contact_email": "fatima.zerrouki@example.org",
           "contact_phone": "06 12 34 56 78", "contact_consent": "true"}
DESCRIPTION = "Sacs devant le hall, appelez Mme Zerrouki au 06 12 34 56 78"
INTERNAL_NOTE = "Note interne : le gardien M. Durand est au courant"
SECRETS = ("Zerrouki", "fatima", "06 12 34 56 78", "0612345678", "Durand", "gardien", "Sacs devant le hall")
HEADERS = [c.title for c in exports.COLUMNS]


@pytest.fixture
def coordinator(session):
    return builders.staff(session, "coordinateur")[0]


@pytest.fixture
def dataset(session, settings, coordinator):
    """Two reports with a reporter's contact, free text and an internal note; one outside the period."""
    bailleur = partner(session, "Pays d'Aix Habitat")
    first = report(session, settings, created=at(2024, 1, 10, 9, 5), status="resolu", partner=bailleur,
                   assigned=at(2024, 1, 10, 14, 0), resolved=at(2024, 1, 12, 16, 45), due=at(2024, 1, 20),
                   description=DESCRIPTION, **CONTACT)
    triage.comment(session=session, report=first, actor=coordinator, note=INTERNAL_NOTE, public=False)
    second = report(session, settings, created=at(2024, 3, 31, 23, 30), quartier=builders.JAS_DE_BOUFFAN,
                    category="eclairage", description=DESCRIPTION, **CONTACT)
    report(session, settings, created=at(2024, 4, 1, 0, 30), description=DESCRIPTION)
    return first, second


def records(session, user):
    return exports.rows(session=session, user=user, scope=SCOPE, tz=PARIS, now=NOW)


def assert_no_personal_data(content: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in content.lower(), secret


def test_columns_hold_no_personal_data():
    keys = {c.key for c in exports.COLUMNS}
    assert not keys & {"description", "contact_name", "contact_email", "contact_phone", "email", "phone", "note",
                       "created_by_user_id", "actor", "idempotency_key"}


def test_csv_is_utf8_with_bom_semicolons_and_french_dates(session, coordinator, dataset):
    first, second = dataset
    body = b"".join(exports.csv_chunks(records(session, coordinator)))

    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == HEADERS
    assert [r[0] for r in rows[1:]] == [first.reference, second.reference]
    line = dict(zip(HEADERS, rows[1]))
    assert line["Créé le"] == "10/01/2024 09:05"
    assert line["Affecté le"] == "10/01/2024 14:00" and line["Résolu le"] == "12/01/2024 16:45"
    assert line["Statut"] == "Résolu" and line["Catégorie"] == "Propreté et dépôts sauvages"
    assert line["Quartier"] == "Encagnane" and line["Partenaire"] == "Pays d'Aix Habitat"
    assert line["Clos le"] == "" and line["En retard"] == "Non"
    assert "," in line["Latitude"] and float(line["Latitude"].replace(",", ".")) == pytest.approx(first_lat(first))
    late = dict(zip(HEADERS, rows[2]))
    assert late["Créé le"] == "31/03/2024 23:30"  # 21:30 UTC, local date kept
    assert text.count("\r\n") == 3
    assert_no_personal_data(text)


def first_lat(report_) -> float:
    from geoalchemy2.shape import to_shape

    return to_shape(report_.location).y


def test_xlsx_has_real_dates_shown_the_french_way(session, coordinator, dataset):
    first, _ = dataset
    book = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(records(session, coordinator))))
    sheet = book["Signalements"]
    rows = list(sheet.iter_rows(values_only=True))

    assert list(rows[0]) == HEADERS
    line = dict(zip(HEADERS, rows[1]))
    assert line["Référence"] == first.reference
    assert line["Créé le"] == datetime(2024, 1, 10, 9, 5)
    assert line["Résolu le"] == datetime(2024, 1, 12, 16, 45)
    assert line["Signalements similaires"] == 0 and isinstance(line["Latitude"], float)
    assert sheet.cell(row=2, column=2).number_format == "DD/MM/YYYY HH:MM"
    assert len(rows) == 3
    assert_no_personal_data(json.dumps([list(r) for r in rows], default=str))


def test_ods_opens_with_its_own_reader(session, coordinator, dataset, tmp_path):
    first, second = dataset
    path = tmp_path / "signalements.ods"
    path.write_bytes(exports.ods_bytes(records(session, coordinator)))

    sheet = pyexcel_ods3.get_data(str(path))["Signalements"]

    assert sheet[0] == HEADERS
    line = dict(zip(HEADERS, sheet[1]))
    assert line["Référence"] == first.reference
    assert line["Créé le"] == datetime(2024, 1, 10, 9, 5)
    assert line["Quartier"] == "Encagnane" and line["Signalements similaires"] == 0
    assert sheet[2][0] == second.reference and len(sheet) == 3
    assert_no_personal_data(json.dumps(sheet, default=str))


def test_geojson_points_with_iso_dates(session, coordinator, dataset):
    first, _ = dataset
    collection = json.loads(b"".join(exports.geojson_chunks(records(session, coordinator))))

    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 2
    feature = collection["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"][1] == pytest.approx(first_lat(first))
    assert feature["properties"]["reference"] == first.reference
    assert feature["properties"]["created_at"] == "2024-01-10T09:05:00+01:00"
    assert feature["properties"]["quartier_code"] == builders.ENCAGNANE
    assert collection["features"][1]["properties"]["created_at"] == "2024-03-31T23:30:00+02:00"
    assert_no_personal_data(json.dumps(collection, ensure_ascii=False))


def test_an_empty_export_still_has_its_header(session, coordinator):
    body = b"".join(exports.csv_chunks(records(session, coordinator))).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(body), delimiter=";")) == [HEADERS]
    assert json.loads(b"".join(exports.geojson_chunks(iter(())))) == {"type": "FeatureCollection", "features": []}


def test_spreadsheets_refuse_more_rows_than_they_can_hold(session, coordinator, dataset, monkeypatch):
    monkeypatch.setattr(exports, "MAX_SPREADSHEET_ROWS", 1)
    with pytest.raises(errors.Unprocessable) as refused:
        exports.check_spreadsheet_size(session=session, user=coordinator, scope=SCOPE, tz=PARIS)
    assert refused.value.code == "export_trop_volumineux" and refused.value.details["count"] == 2


EVIL = '=HYPERLINK("http://evil.example/x";"Cliquez")'


def test_a_formula_in_a_name_stays_text_in_every_format(session, settings, coordinator, tmp_path):
    """A partner named like a formula: a quoted string in CSV, a string cell (not a formula) in XLSX,
    a plain string cell in ODS (where a quote would be shown)."""
    evil = partner(session, EVIL)
    report(session, settings, created=at(2024, 2, 1), status="en_cours", partner=evil, assigned=at(2024, 2, 1))

    text = b"".join(exports.csv_chunks(records(session, coordinator))).decode("utf-8-sig")
    line = dict(zip(HEADERS, list(csv.reader(io.StringIO(text), delimiter=";"))[1]))
    assert line["Partenaire"] == "'" + EVIL

    raw = exports.xlsx_bytes(records(session, coordinator))
    book = openpyxl.load_workbook(io.BytesIO(raw))
    cell = book["Signalements"].cell(row=2, column=HEADERS.index("Partenaire") + 1)
    assert (cell.value, cell.data_type) == (EVIL, "s")
    sheet_xml = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml

    path = tmp_path / "evil.ods"
    path.write_bytes(exports.ods_bytes(records(session, coordinator)))
    assert dict(zip(HEADERS, pyexcel_ods3.get_data(str(path))["Signalements"][1]))["Partenaire"] == EVIL


def test_the_handling_time_column_is_in_days(session, coordinator, dataset):
    rows = list(records(session, coordinator))
    # Created 10/01 09:05, resolved 12/01 16:45: 2 days 7 h 40 min.
    assert rows[0]["handling_days"] == round((2 * 86400 + 7 * 3600 + 40 * 60) / 86400, 2) == 2.32
    assert rows[1]["handling_days"] is None
