"""One dataset whose every figure is known in advance, read through every surface: the statistics
API, the exports and the meeting pack (its text parsed back from the PDF) must all say the same.

Encagnane (4,642 inhabitants), first quarter 2024, Paris time:
- Bailleur A was given 4 reports in January (assigned half a day after creation, due 5 days after
  it), resolved 1, 2, 3 and 10 days after creation: p50 2.5 d, p90 3 + 0.7 × 7 = 7.9 d; from
  assignment 0.5, 1.5, 2.5, 9.5 d: p50 2.0 d, p90 7.4 d; 3 on time, 1 late (25 %);
- Bailleur A is only *proposed* by routing for 2 reports of February: never counted for it;
- 31 March 2024 at 23:30 (21:30 UTC, the day summer time starts) counts in March;
- 31 December 2023 at 23:30 (22:30 UTC) is in December 2023: in neither period;
- a year earlier: 1 in January 2023 (« voirie »), 3 in February 2023;
- one report hors périmètre, and Pinette (1,903 inhabitants, no perimeter).
Received 7 (a year earlier 4), 4 resolved to date: 57 %; 7 000 ÷ 4 642 = 1.508 → « 1,5 ».
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import date, timedelta

import openpyxl
import pyexcel_ods3
import pypdf
import pytest

from gusp import exports, stats, storage
from gusp.pdf import meeting_pack
from tests import builders
from tests.builders_stats import PARIS, at, partner, report

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

Q1 = {"date_from": "2024-01-01", "date_to": "2024-03-31", "quartier": builders.ENCAGNANE}
DAY = timedelta(days=1)


@pytest.fixture
def truth(session, settings):
    bailleur = partner(session, "Bailleur A")
    for i, days in enumerate((1, 2, 3, 10)):
        created = at(2024, 1, 8 + i, 9)
        report(session, settings, created=created, status="resolu", partner=bailleur, assigned=created + DAY / 2,
               resolved=created + days * DAY, due=created + 5 * DAY)
    for day in (5, 6):
        report(session, settings, created=at(2024, 2, day), partner=bailleur)  # proposed, never assigned
    report(session, settings, created=at(2024, 3, 31, 23, 30))
    report(session, settings, created=at(2023, 12, 31, 23, 30))
    report(session, settings, created=at(2023, 1, 20), category="voirie")
    for day in (1, 2, 3):
        report(session, settings, created=at(2023, 2, day))
    report(session, settings, created=at(2024, 2, 10), lat=43.5263, lon=5.4474)  # cours Mirabeau: hors périmètre
    return bailleur


def test_the_api_says_the_known_truth(client, session, truth):
    headers = builders.staff(session, "coordinateur")[1]
    volumes = client.get("/api/v1/stats/volumes", headers=headers,
                         params={**Q1, "group_by": "", "compare": "previous_year"}).json()
    assert volumes["periods"] == ["2024-01", "2024-02", "2024-03"]
    assert [(r["period"], r["count"]) for r in volumes["data"]] == [("2024-01", 4), ("2024-02", 2), ("2024-03", 1)]
    assert [(r["period"], r["count"]) for r in volumes["comparison"]["data"]] == [("2023-01", 1), ("2023-02", 3)]
    assert (volumes["total"], volumes["comparison"]["total"]) == (7, 4)

    by_partner = client.get("/api/v1/stats/volumes", headers=headers,
                            params={**Q1, "group_by": "partner", "interval": "none"}).json()
    assert [(r["partner_name"], r["count"]) for r in by_partner["data"]] == [("Bailleur A", 4), ("Sans partenaire", 3)]
    filtered = client.get("/api/v1/stats/volumes", headers=headers,
                          params={**Q1, "partner": truth.id, "interval": "none", "group_by": ""}).json()
    assert filtered["total"] == 4

    rates = client.get("/api/v1/stats/rates", headers=headers, params=Q1).json()
    (encagnane,) = rates["data"]
    assert (encagnane["count"], encagnane["resolved"], encagnane["open"]) == (7, 4, 3)
    assert encagnane["per_1000"] == 7000 / 4642 and encagnane["share_resolved"] == 4 / 7

    delays = client.get("/api/v1/stats/delays", headers=headers, params=Q1).json()
    (row,) = delays["data"]
    assert row["partner_name"] == "Bailleur A" and row["resolved"] == 4
    created, assigned = row["creation_to_resolution"], row["assignment_to_resolution"]
    assert (created["median_days"], created["p90_days"]) == (2.5, pytest.approx(7.9))
    assert (assigned["median_days"], assigned["p90_days"]) == (2.0, pytest.approx(7.4))

    overdue = client.get("/api/v1/stats/overdue", headers=headers, params=Q1).json()
    assert [(r["label"], r["with_deadline"], r["resolved_on_time"], r["resolved_late"], r["share_late"])
            for r in overdue["data"]] == [("Bailleur A", 4, 3, 1, 0.25)]

    whole_city = client.get("/api/v1/stats/rates", headers=headers,
                            params={"date_from": "2024-01-01", "date_to": "2024-03-31"}).json()
    rows = {r["quartier_code"]: r for r in whole_city["data"]}
    assert rows["VEILLE-13001-PINETTE"]["per_1000"] is None
    assert (rows[None]["count"], rows[None]["population"]) == (1, 147_478 - 14_027)
    assert (whole_city["total"]["population"], whole_city["commune"]["count"]) == (14_027, 8)


def test_the_exports_say_the_same(session, truth):
    user = builders.staff(session, "coordinateur")[0]
    scope = stats.Scope(period=stats.Period(start=date(2024, 1, 1), end=date(2024, 3, 31)),
                        quartier=(builders.ENCAGNANE,))
    records = exports.rows(session=session, user=user, scope=scope, tz=PARIS, now=at(2024, 4, 10))
    text = b"".join(exports.csv_chunks(records)).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    lines = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(lines) == 7
    assert sorted(line["Partenaire"] for line in lines) == [""] * 3 + ["Bailleur A"] * 4
    assert [line["Créé le"] for line in lines][-1] == "31/03/2024 23:30"
    assert sorted(line["Délai création → résolution (jours)"] for line in lines if line["Résolu le"]) == [
        "1,0", "10,0", "2,0", "3,0"]
    # The partner filter keeps the 4 reports handed to the partner, not the 2 it was only proposed.
    mine = exports.rows(session=session, user=user, scope=replace(scope, partner=(truth.id,)), tz=PARIS,
                        now=at(2024, 4, 10))
    assert [row["partner"] for row in mine] == ["Bailleur A"] * 4


def _pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).replace("\u202f", " ")
                    .replace("\u00a0", " ").split())


def test_the_pack_says_the_same(session, settings, truth):
    coordinator = builders.staff(session, "coordinateur")[0]
    pack = meeting_pack.generate(session=session, settings=settings, storage=storage.from_settings(settings),
                                 user=coordinator, quartier_codes=[builders.ENCAGNANE], start=date(2024, 1, 1),
                                 end=date(2024, 3, 31))
    content = _pdf_text(pack.pdf)

    assert "7 Signalements reçus sur la période" in content
    assert "2,5 Délai médian de résolution (jours)" in content  # the same p50 as the delays table
    assert "57 % des reçus sur la période sont résolus à ce jour (4 signalements)" in content
    assert "Mois Reçus Un an plus tôt Évolution janv. 2024 4 1 +300 % févr. 2024 2 3 −33 % mars 2024 1 0 — " \
           "Total 7 4 +75 %" in content
    assert "Propreté et dépôts sauvages 7 100 % 3 Voirie et trottoirs 0 0 % 1 Total 7 100 % 4" in content
    assert "Encagnane 7 1,5 57 % 3" in content
    assert "Bailleur A 4 2,5 7,9 4 2,0 7,4 Ensemble 4 2,5 7,9 4 2,0 7,4" in content
    assert "Bailleur A 4 3 1 0 0 25 % Total 4 3 1 0 0 25 %" in content
    # The backlog is every open report now, whatever its date: the cover's « ouverts à ce jour » is its total.
    assert "8 Signalements ouverts à ce jour" in content
    assert "Sans partenaire 8 0 0 0 8 0 Total 8 0 0 0 8 0" in content
    assert "1 point chaud : Catégorie Signalements Quartier" in content
    assert "Pas encore confiés à un partenaire — 8 ouverts" in content


def test_packs_for_the_whole_commune_and_outside_the_qpv(session, settings, truth):
    coordinator = builders.staff(session, "coordinateur")[0]

    def pack(codes):
        return meeting_pack.generate(session=session, settings=settings, storage=storage.from_settings(settings),
                                     user=coordinator, quartier_codes=codes, start=date(2024, 1, 1),
                                     end=date(2024, 3, 31))

    city = pack(["ville"])
    content = _pdf_text(city.pdf)
    assert city.record.quartier_codes == ["ville"] and "Toute la commune" in content
    assert "8 Signalements reçus sur la période" in content
    # 7 000 ÷ 14 027 = 0,499 → 0,5 for the QPV; 1 000 ÷ 133 451 = 0,0075 → 0,0 outside; 8 000 ÷ 147 478 → 0,1.
    assert "Encagnane 7 1,5 57 % 3 Jas de Bouffan 0 0,0 — 0 Pinette* 0 — — 0 Hors périmètre** 1 0,0 0 % 1 " \
           "Ensemble des quartiers*** 7 0,5 57 % 3 Ensemble de la commune**** 8 0,1 50 % 4" in content
    assert "* Périmètre non chargé" in content and "** Hors périmètre (hors QPV) : population de la commune" in content

    outside = pack(["hors_perimetre"])
    content = _pdf_text(outside.pdf)
    assert "Hors périmètre (commune hors QPV)" in content and "1 Signalements reçus sur la période" in content
    assert "pas de carte de quartier" in content


def test_the_dashboard_tables_as_csv_and_spreadsheet_sheets(client, session, truth, tmp_path):
    headers = builders.staff(session, "coordinateur")[1]
    period = {k: v for k, v in Q1.items() if k != "quartier"}

    def table(key: str, params=Q1) -> list[list[str]]:
        answer = client.get(f"/api/v1/exports/tables/{key}.csv", headers=headers, params=params)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv"), answer.text
        assert answer.content.startswith(b"\xef\xbb\xbf")
        return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))

    assert table("periodes")[:5] == [["Mois", "Reçus", "Un an plus tôt"], ["2024-01", "4", "1"], ["2024-02", "2", "3"],
                                     ["2024-03", "1", "0"], ["Total", "7", "4"]]
    assert table("categories")[1:4] == [["Propreté et dépôts sauvages", "7", "100 %", "3"],
                                        ["Voirie et trottoirs", "0", "0 %", "1"], ["Total", "7", "100 %", "4"]]
    quartiers = {row[0]: row for row in table("quartiers", period)[1:] if row}
    assert quartiers["Encagnane"][:7] == ["Encagnane", "4642", "7", "1,5", "4", "57 %", "3"]
    assert quartiers["Pinette"][3] == "—" and "Périmètre non chargé" in quartiers["Pinette"][7]
    assert quartiers["Hors périmètre"][:4] == ["Hors périmètre", "133451", "1", "0,0"]
    assert quartiers["Ensemble des quartiers"][:4] == ["Ensemble des quartiers", "14027", "7", "0,5"]
    assert quartiers["Ensemble de la commune"][:4] == ["Ensemble de la commune", "147478", "8", "0,1"]
    assert table("delais")[1:3] == [["Bailleur A", "4", "2,5", "7,9", "4,0", "4", "2,0", "7,4"],
                                    ["Ensemble", "4", "2,5", "7,9", "4,0", "4", "2,0", "7,4"]]
    assert table("echeances")[1] == ["Bailleur A", "4", "3", "1", "0", "0", "25 %"]
    assert client.get("/api/v1/exports/tables/humeur.csv", headers=headers).status_code == 422

    xlsx = client.get("/api/v1/exports/reports.xlsx", headers=headers, params=Q1)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Signalements", "Synthèse", "Par quartier"]
    summary = [list(r) for r in book["Synthèse"].iter_rows(values_only=True)]
    assert ["Total", 7, 4] in [r[:3] for r in summary]
    by_quartier = {r[0]: r for r in book["Par quartier"].iter_rows(values_only=True)}
    assert by_quartier["Encagnane"][:4] == ("Encagnane", 4642, 7, pytest.approx(7000 / 4642))

    ods = client.get("/api/v1/exports/reports.ods", headers=headers, params=Q1)
    path = tmp_path / "export.ods"
    path.write_bytes(ods.content)
    sheets = pyexcel_ods3.get_data(str(path))
    assert list(sheets) == ["Signalements", "Synthèse", "Par quartier"]
    assert ["Total", 7, 4] in [r[:3] for r in sheets["Synthèse"]]


def test_a_large_pack_stays_readable_maps_sampled_lists_cut(session, settings, truth, monkeypatch):
    """At a million reports a map cannot show every dot nor a list every open report: a fixed sample and
    the most overdue, with the true counts beside them."""
    monkeypatch.setattr(meeting_pack, "MAP_POINTS", 3)
    monkeypatch.setattr(meeting_pack, "OPEN_LISTED", 2)
    coordinator = builders.staff(session, "coordinateur")[0]
    pack = meeting_pack.generate(session=session, settings=settings, storage=storage.from_settings(settings),
                                 user=coordinator, quartier_codes=[builders.ENCAGNANE], start=date(2024, 1, 1),
                                 end=date(2024, 3, 31))
    content = _pdf_text(pack.pdf)
    shown = re.search(r"Encagnane — 7 signalements \((\d) représentés?, tirés au hasard\)", content)
    assert shown and int(shown.group(1)) <= 3
    assert "Pas encore confiés à un partenaire — 8 ouverts, dont 0 en retard Les 2 plus en retard" in content
    assert content.count("non fixée") == 2
