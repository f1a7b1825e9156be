"""Walking diagnostics: a walk, its numbered findings (problems are reports, positive points are
not), their follow-up through the normal workflow, and who sees which walk."""

from __future__ import annotations

import io
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from gusp import db, diagnostics, errors, partners, states, storage, triage
from gusp.models import Report, User
from gusp.models.diagnostics import DiagnosticFinding, DiagnosticPhoto
from gusp.schemas_diagnostics import DiagnosticCreate, FindingCreate
from tests import builders

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)


def walk(session, author, *, quartier=builders.ENCAGNANE, **overrides):
    data = {"quartier": quartier, "date": date(2026, 11, 25), "title": "Diagnostic en marchant — Encagnane sud",
            "participants": "Conseil citoyen, amicale des locataires", **overrides}
    return diagnostics.create_diagnostic(session=session, data=DiagnosticCreate(**data), author=author)


def finding(session, settings, diagnostic, author, *, kind="probleme", photos=(), quartier=builders.ENCAGNANE,
            **overrides):
    lat, lon = builders.point_in(session, quartier)
    fields = {"kind": kind, "category": "proprete" if kind == "probleme" else None,
              "description": "Dépôt sauvage au pied du bâtiment" if kind == "probleme" else "Jardin partagé entretenu",
              "lat": lat, "lon": lon, **overrides}
    return diagnostics.add_finding(session=session, settings=settings, storage=storage.from_settings(settings),
                                   diagnostic=diagnostic, data=FindingCreate(**fields),
                                   uploads=[io.BytesIO(p) for p in photos], author=author)


@pytest.fixture
def people(session):
    coordinator, _ = builders.staff(session, "coordinateur")
    agent, _ = builders.staff(session, "agent")
    return coordinator, agent


def test_findings_are_numbered_in_order_and_problems_become_agent_reports(session, settings, people):
    coordinator, agent = people
    diagnostic = walk(session, coordinator)
    first = finding(session, settings, diagnostic, agent, photos=[builders.jpeg()])
    second = finding(session, settings, diagnostic, agent, kind="point_positif", photos=[builders.jpeg()])
    third = finding(session, settings, diagnostic, agent, category="eclairage", description="Lampadaire éteint")

    assert [f.number for f in diagnostics.findings(session=session, diagnostic=diagnostic)] == [1, 2, 3]
    assert (first.number, second.number, third.number) == (1, 2, 3)
    report = first.report
    assert report.source == states.Source.AGENT and report.created_by_user_id == agent.id
    assert report.status == states.ReportStatus.NOUVEAU and len(report.photos) == 1
    assert third.report.category_code == "eclairage"
    # A positive point is no report: its photos are its own, in the same storage.
    assert second.report_id is None and second.description == "Jardin partagé entretenu"
    assert session.scalar(select(func.count()).select_from(Report)) == 2
    photo = session.scalars(select(DiagnosticPhoto).where(DiagnosticPhoto.finding_id == second.id)).one()
    assert storage.from_settings(settings).exists(photo.display_key)
    assert storage.from_settings(settings).exists(photo.thumbnail_key)
    # Numbers restart for another walk.
    other = walk(session, coordinator, quartier=builders.JAS_DE_BOUFFAN)
    assert finding(session, settings, other, agent, quartier=builders.JAS_DE_BOUFFAN).number == 1


def test_progress_follows_the_workflow(session, settings, people):
    coordinator, agent = people
    diagnostic = walk(session, coordinator)
    made = [finding(session, settings, diagnostic, agent) for _ in range(4)]
    finding(session, settings, diagnostic, agent, kind="point_positif")
    ville = partners.create_partner(session=session, name="Ville d'Aix", kind="ville", emails=["v@aix.example"])
    reports = [f.report for f in made]
    triage.assign(session=session, settings=settings, report=reports[0], partner=ville, actor=coordinator)
    triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings), report=reports[0],
                   actor=coordinator, note="Enlevé", after_photo=io.BytesIO(builders.jpeg(colour=(20, 160, 40))))
    triage.change_status(session=session, settings=settings, report=reports[1], to=states.ReportStatus.RESOLU,
                         actor=coordinator)
    triage.change_status(session=session, settings=settings, report=reports[1], to=states.ReportStatus.CLOS,
                         actor=coordinator)
    triage.change_status(session=session, settings=settings, report=reports[2], to=states.ReportStatus.REJETE,
                         actor=coordinator, reason=states.RejectionReason.HORS_COMPETENCE)

    progress = diagnostics.progress(session=session, diagnostic=diagnostic)

    assert (progress.problems, progress.open, progress.resolved, progress.closed, progress.rejected) == (4, 1, 1, 1, 1)
    assert progress.treated == 2 and progress.positive_points == 1


def test_bad_findings_are_refused_and_leave_nothing(session, settings, people):
    coordinator, agent = people
    diagnostic = walk(session, coordinator)
    with pytest.raises(errors.InvalidFields) as refused:
        finding(session, settings, diagnostic, agent, category=None)
    assert refused.value.code == "categorie_manquante"
    with pytest.raises(errors.InvalidFields) as refused:
        finding(session, settings, diagnostic, agent, category="inconnue")
    assert refused.value.code == "categorie_inconnue"
    with pytest.raises(errors.InvalidFields) as refused:
        finding(session, settings, diagnostic, agent, kind="point_positif", description="")
    assert refused.value.code == "description_manquante"
    with pytest.raises(errors.Unprocessable) as refused:
        finding(session, settings, diagnostic, agent, kind="point_positif", lat=48.85, lon=2.35)
    assert refused.value.code == "hors_territoire"
    with pytest.raises(errors.GuspError) as refused:
        finding(session, settings, diagnostic, agent, kind="point_positif", photos=[b"%PDF-1.4 not a photo"])
    assert refused.value.status == 415
    assert session.scalar(select(func.count()).select_from(DiagnosticFinding)) == 0
    assert builders.stored_files(settings) == []

    diagnostics.close(session=session, diagnostic=diagnostic)
    with pytest.raises(errors.Conflict) as refused:
        finding(session, settings, diagnostic, agent)
    assert refused.value.code == "diagnostic_clos"


def test_a_bad_diagnostic_names_every_bad_field(session, people):
    coordinator, _ = people
    with pytest.raises(errors.InvalidFields) as refused:
        walk(session, coordinator, quartier="QN00000X", partner_ids=[999999],
             route={"type": "LineString", "coordinates": [[5.43, 43.52]]})
    assert {e.code for e in refused.value.errors} == {"quartier_inconnu", "partenaire_inconnu", "parcours_invalide"}


def test_the_route_is_kept_and_can_be_replaced(session, people):
    coordinator, _ = people
    line = {"type": "LineString", "coordinates": [[5.4301, 43.5201], [5.4312, 43.5207], [5.4320, 43.5215]]}
    diagnostic = walk(session, coordinator, route=line)
    assert diagnostic.route is not None
    diagnostics.set_route(session=session, diagnostic=diagnostic, route=None)
    assert diagnostic.route is None
    with pytest.raises(errors.InvalidFields):
        diagnostics.set_route(session=session, diagnostic=diagnostic, route={"type": "Point", "coordinates": [5, 43]})


def test_who_sees_which_walk(session, people):
    coordinator, agent = people
    invited = partners.create_partner(session=session, name="Pays d'Aix Habitat", kind="bailleur", emails=[])
    other = partners.create_partner(session=session, name="Métropole", kind="metropole", emails=[])
    encagnane = walk(session, coordinator, partner_ids=[invited.id])
    jas = walk(session, coordinator, quartier=builders.JAS_DE_BOUFFAN)
    member, _ = builders.staff(session, "partenaire", partner_id=invited.id)
    stranger, _ = builders.staff(session, "partenaire", partner_id=other.id)
    group, _ = builders.staff(session, "groupe", quartier_ids=[jas.quartier_id])

    def seen(user):
        return {d.id for d in diagnostics.list_diagnostics(session=session, user=user)}

    assert seen(coordinator) == seen(agent) == {encagnane.id, jas.id}
    assert seen(member) == {encagnane.id}
    assert seen(stranger) == set()
    assert seen(group) == {jas.id}
    with pytest.raises(errors.NotFound):
        diagnostics.get_visible(session=session, user=stranger, diagnostic_id=encagnane.id)


def test_concurrent_findings_get_distinct_numbers(committed_settings):
    """Two phones sending at once: the lock on the diagnostic gives each its own number."""
    engine = db.make_engine(committed_settings.database_url)
    make = db.make_sessionmaker(engine)
    try:
        with make() as session, db.transaction(session):
            coordinator, _ = builders.staff(session, "coordinateur")
            agents = [builders.staff(session, "agent")[0] for _ in range(4)]
            diagnostic_id = walk(session, coordinator).id
        barrier = threading.Barrier(len(agents))
        failures: list[BaseException] = []

        def capture(agent_id: int) -> None:
            try:
                with make() as session, db.transaction(session):
                    agent = session.get(User, agent_id)
                    diagnostic = diagnostics.get_visible(session=session, user=agent, diagnostic_id=diagnostic_id)
                    barrier.wait(timeout=10)
                    finding(session, committed_settings, diagnostic, agent, kind="point_positif")
            except BaseException as exc:  # noqa: BLE001 — reported below
                failures.append(exc)

        threads = [threading.Thread(target=capture, args=(a.id,)) for a in agents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        with make() as session:
            numbers = sorted(session.scalars(select(DiagnosticFinding.number)
                                             .where(DiagnosticFinding.diagnostic_id == diagnostic_id)))
        assert numbers == [1, 2, 3, 4]
    finally:
        engine.dispose()
