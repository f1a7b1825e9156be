"""Printed documents read back with pypdf: French typography, the restitution of a walk, the
meeting pack (its figures against the database, overdue reports by partner, what changed since)."""

from __future__ import annotations

import io
import logging
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pypdf
import pytest
from sqlalchemy import func, select, text

from gusp import diagnostics, partners, storage, triage
from gusp.models import Report
from gusp.models.diagnostics import MeetingPack
from gusp.pdf import meeting_pack, restitution, typography
from gusp.schemas_diagnostics import DiagnosticCreate, FindingCreate
from tests import builders, builders_routing

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

NBSP, NNBSP = "\u00a0", "\u202f"
PARIS = ZoneInfo("Europe/Paris")


def read(pdf: bytes) -> tuple[int, str]:
    """Page count and the text of every page, white space (no-break spaces included) collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return len(reader.pages), " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_french_typography():
    assert typography.day(date(2026, 11, 25)) == f"25{NBSP}novembre{NBSP}2026"
    assert typography.day(date(2026, 12, 1)) == f"1er{NBSP}décembre{NBSP}2026"
    assert typography.day_time(datetime(2026, 2, 3, 9, 5)) == f"3{NBSP}février{NBSP}2026 à 9{NBSP}h{NBSP}05"
    assert typography.short_day(date(2026, 8, 4)) == "04/08/2026"
    assert typography.period(date(2026, 1, 1), date(2026, 3, 31)) == \
        f"du 1er{NBSP}janvier{NBSP}2026 au 31{NBSP}mars{NBSP}2026"
    assert typography.number(1234567) == f"1{NNBSP}234{NNBSP}567"
    assert typography.number(12.5, decimals=1) == "12,5"
    # Rounded once, half up: 10 reports for 4,642 inhabitants are 2.154 ‰, shown 2,2 (not 2,15 → 2,1).
    assert typography.number(10_000 / 4642, decimals=1) == "2,2"
    assert typography.number(2.25, decimals=1) == "2,3" and typography.number(0.5) == "1"
    assert typography.percent(1, 3) == f"33{NBSP}%" and typography.percent(1, 0) == "—"
    assert typography.plural(0, "constat") == f"0{NBSP}constat"
    assert typography.plural(2, "point positif", "points positifs") == f"2{NBSP}points positifs"
    assert typography.month(date(2026, 7, 1)) == f"juil.{NBSP}2026"
    assert typography.french("Attention: danger ! Et toi ?") == f"Attention{NBSP}: danger{NNBSP}! Et toi{NNBSP}?"
    assert typography.french('Il a dit "bonjour" ; « merci »') == \
        f"Il a dit «{NNBSP}bonjour{NNBSP}»{NNBSP}; «{NNBSP}merci{NNBSP}»"
    assert typography.french("Pays d'Aix") == "Pays d’Aix"
    # Times and addresses are left alone.
    assert typography.french("à 10:30, voir https://gusp.example") == "à 10:30, voir https://gusp.example"


def test_fonts_fall_back_to_helvetica_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        fonts = typography.fonts(tmp_path)
    assert fonts.regular == "Helvetica" and "fonts-dejavu-core" in caplog.text


def test_restitution_reads_back(session, settings):
    coordinator, _ = builders.staff(session, "coordinateur")
    agent, _ = builders.staff(session, "agent")
    bailleur = partners.create_partner(session=session, name="Pays d'Aix Habitat", kind="bailleur", emails=[])
    ville = partners.create_partner(session=session, name="Ville d'Aix-en-Provence", kind="ville", emails=[])
    builders_routing.make_rule(session, "proprete", bailleur)
    builders_routing.make_rule(session, "eclairage", ville)
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    walk = diagnostics.create_diagnostic(session=session, author=coordinator, data=DiagnosticCreate(
        quartier=builders.ENCAGNANE, date=date(2026, 11, 25), title="Encagnane sud", participants="Conseil citoyen",
        partner_ids=[bailleur.id, ville.id],
        route={"type": "LineString", "coordinates": [[lon - 0.001, lat], [lon, lat], [lon + 0.001, lat + 0.0005]]}))
    store = storage.from_settings(settings)

    def capture(kind, category, description):
        return diagnostics.add_finding(
            session=session, settings=settings, storage=store, diagnostic=walk, author=agent,
            data=FindingCreate(kind=kind, category=category, description=description, lat=lat, lon=lon),
            uploads=[io.BytesIO(builders.jpeg())])

    sacs = capture("probleme", "proprete", "Sacs d'ordures au pied du bâtiment B")
    capture("probleme", "eclairage", "Lampadaire éteint allée des Tilleuls")
    capture("point_positif", None, "Fresque réalisée par les jeunes du quartier")
    triage.resolve(session=session, settings=settings, storage=store, report=sacs.report, actor=coordinator,
                   note="Enlevé")

    pages, content = read(restitution.render(session=session, settings=settings, storage=store, diagnostic=walk))

    assert 1 <= pages <= 3
    assert "Diagnostic en marchant" in content and "Encagnane sud" in content
    assert "Encagnane, le 25 novembre 2026" in content
    assert "Partenaires : Pays d’Aix Habitat, Ville d’Aix-en-Provence" in content
    assert "3 constats : 2 problèmes, 1 point positif." in content
    assert "1 réglé sur 2 (résolus ou clos)" in content
    assert "1 Problème Propreté et dépôts sauvages Sacs d’ordures au pied du bâtiment B Pays d’Aix Habitat Résolu" \
        in content
    assert "2 Problème Éclairage public" in content and "3 Point positif Fresque réalisée" in content
    assert sacs.report.reference in content
    assert f"page 1 sur {pages}" in content


@pytest.fixture
def world(session, settings):
    """Reports of Encagnane (and one of Jas de Bouffan) in every situation a pack must show."""
    coordinator, _ = builders.staff(session, "coordinateur", name="camille-martin")
    bailleur = partners.create_partner(session=session, name="Pays d'Aix Habitat", kind="bailleur", emails=[])
    ville = partners.create_partner(session=session, name="Ville d'Aix-en-Provence", kind="ville", emails=[])
    make = builders.make_report
    late = make(session, settings, description="Encombrants devant le local poubelles, appelez le 06 12 34 56 78 ou "
                                               "gardien@example.org", photos=[builders.jpeg()])
    on_time = make(session, settings, category="eclairage", description="Lampadaire éteint")
    fixed = make(session, settings, description="Tags sur le mur de l'école", photos=[builders.jpeg()])
    waiting = make(session, settings, category="voirie", description="Nid-de-poule")
    old = make(session, settings, description="Épave de scooter")
    elsewhere = make(session, settings, quartier=builders.JAS_DE_BOUFFAN, description="Banc cassé")
    triage.assign(session=session, settings=settings, report=late, partner=bailleur, actor=coordinator)
    late.due_at = late.assigned_at - timedelta(days=3, hours=1)
    triage.assign(session=session, settings=settings, report=on_time, partner=ville, actor=coordinator)
    triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings), report=fixed,
                   actor=coordinator, note="Effacés", after_photo=io.BytesIO(builders.jpeg(colour=(30, 160, 60))))
    session.execute(text("UPDATE reports SET created_at = created_at - interval '200 days' WHERE id = :i"),
                    {"i": old.id})
    session.flush()
    session.expire_all()
    return {"coordinator": coordinator, "late": late, "on_time": on_time, "fixed": fixed, "waiting": waiting,
            "old": old, "elsewhere": elsewhere}


def _database_figures(session, start: date, end: date) -> dict[str, int]:
    """The same figures, asked of the database directly (local days in Paris, merged duplicates out)."""
    sql = """
        SELECT count(*) FILTER (WHERE r.created_at >= CAST(:start AS timestamp) AT TIME ZONE 'Europe/Paris'
                                  AND r.created_at < CAST(:end AS timestamp) AT TIME ZONE 'Europe/Paris'),
               count(*) FILTER (WHERE r.resolved_at >= CAST(:start AS timestamp) AT TIME ZONE 'Europe/Paris'
                                  AND r.resolved_at < CAST(:end AS timestamp) AT TIME ZONE 'Europe/Paris'),
               count(*) FILTER (WHERE r.status IN ('nouveau', 'pris_en_compte', 'en_cours')),
               count(*) FILTER (WHERE r.status IN ('nouveau', 'pris_en_compte', 'en_cours')
                                  AND r.due_at < clock_timestamp())
        FROM reports r JOIN quartiers q ON q.id = r.quartier_id
        WHERE q.code = :code AND r.master_report_id IS NULL"""
    row = session.execute(text(sql), {"start": start, "end": end + timedelta(days=1),
                                      "code": builders.ENCAGNANE}).one()
    return dict(zip(("received", "resolved", "open_now", "overdue_now"), row, strict=True))


def test_meeting_pack_reads_back_with_the_database_figures(session, settings, world):
    today = session.scalar(text("SELECT now()")).astimezone(PARIS).date()
    start = today - timedelta(days=90)
    pack = meeting_pack.generate(session=session, settings=settings, storage=storage.from_settings(settings),
                                 user=world["coordinator"], quartier_codes=[builders.ENCAGNANE], start=start, end=today)
    pages, content = read(pack.pdf)

    expected = _database_figures(session, start, today)
    assert expected == {"received": 4, "resolved": 1, "open_now": 4, "overdue_now": 1}
    assert {k: pack.record.figures[k] for k in expected} == expected
    assert pages >= 4 and f"page {pages} sur {pages}" in content
    assert "Dossier de séance" in content and "Quartier : Encagnane" in content
    assert f"Période {typography.period(start, today).replace(NBSP, ' ')}" in content
    assert "par Camille-Martin" in content
    for key, label in (("received", "Signalements reçus sur la période"), ("resolved", "Signalements résolus"),
                       ("open_now", "Signalements ouverts à ce jour"), ("overdue_now", "Signalements en retard")):
        assert f"{expected[key]} {label}" in content
    assert "Premier dossier édité pour ces quartiers" in content
    # Overdue and open reports, by the partner they were handed to.
    assert "Pays d’Aix Habitat — 1 ouvert, dont 1 en retard" in content
    assert "Ville d’Aix-en-Provence — 1 ouvert, dont 0 en retard" in content
    assert "Pas encore confiés à un partenaire — 2 ouverts, dont 0 en retard" in content
    assert re.search(rf"{world['late'].reference} Pris en compte .*en retard de 3 jours", content)
    assert world["fixed"].reference in content  # the before/after page
    assert "Avant / après" in content
    assert world["elsewhere"].reference not in content and "Jas de Bouffan" not in content
    assert session.scalar(select(func.count()).select_from(MeetingPack)) == 1
    # One "% résolus": of the 4 received, 1 resolved to date, on the cover and in the table alike.
    assert "25 % des reçus sur la période sont résolus à ce jour (1 signalement)" in content
    assert "Encagnane 4 0,9 25 % 3" in content  # 4 000 ÷ 4 642 = 0,86 → 0,9
    # Residents' free text is printed as the public site shows it: phone numbers and e-mails masked.
    assert "Encombrants devant le local poubelles, appelez le [numéro masqué] ou [adresse masquée]" in content
    assert "06 12 34 56 78" not in content and "gardien@example.org" not in content


def test_the_second_pack_says_what_changed_since_the_first(session, settings, world):
    today = session.scalar(text("SELECT now()")).astimezone(PARIS).date()
    start, store = today - timedelta(days=90), storage.from_settings(settings)

    def issue():
        return meeting_pack.generate(session=session, settings=settings, storage=store, user=world["coordinator"],
                                     quartier_codes=[builders.ENCAGNANE], start=start, end=today)

    first = issue()
    # The first meeting was a week ago, and the reports of then older still.
    session.execute(text("UPDATE meeting_packs SET generated_at = generated_at - interval '7 days'"))
    session.execute(text("UPDATE reports SET created_at = created_at - interval '8 days',"
                         " resolved_at = resolved_at - interval '8 days'"))
    session.expire_all()
    builders.make_report(session, settings, description="Nouveau dépôt sauvage")
    triage.resolve(session=session, settings=settings, storage=store, report=session.get(Report, world["late"].id),
                   actor=world["coordinator"], note="Enlevés")

    second = issue()
    _, content = read(second.pdf)

    assert second.changes is not None and second.changes.previous.id == first.record.id
    assert (second.changes.new_reports, second.changes.resolved) == (1, 1)
    week_ago = typography.day(first.record.generated_at.astimezone(PARIS)).replace(NBSP, " ")
    assert "Depuis le dossier précédent" in content and f"Dossier précédent édité le {week_ago}" in content
    assert "Depuis : 1 nouveau signalement, 1 signalement résolu." in content
    assert "Signalements reçus sur la période 4 5 ↑ en hausse (+1)" in content
    assert "Signalements en retard à ce jour 1 0 ↓ en baisse (−1)" in content
    assert "Signalements ouverts à ce jour 4 4 = stable" in content
    assert session.scalar(select(func.count()).select_from(MeetingPack)) == 2


def test_a_quartier_without_a_perimeter_still_gets_its_pack(session, settings):
    coordinator, _ = builders.staff(session, "coordinateur")
    pack = meeting_pack.generate(session=session, settings=settings, storage=storage.from_settings(settings),
                                 user=coordinator, quartier_codes=["VEILLE-13001-PINETTE"],
                                 start=date(2026, 1, 1), end=date(2026, 3, 31))
    _, content = read(pack.pdf)
    assert "Pinette — 0 signalement (périmètre pas encore dessiné)" in content
    assert "Aucun signalement ouvert à ce jour." in content
    assert "Pinette* 0 — — 0" in content and "* Périmètre non chargé : aucun signalement ne peut y être" in content
    assert "Période du 1er janvier 2026 au 31 mars 2026" in content
    assert pack.figures.received == 0 and pack.figures.median_resolution_days is None
    assert [m for m, _ in pack.figures.by_month] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
