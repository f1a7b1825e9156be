"""GET servicerequestupdates (FixMyStreet's extension): the public history, in both formats."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from gusp import states, storage, triage
from tests import builders, builders_routing
from tests.open311 import builders_open311 as o311

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

UPDATE_FIELDS = ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]


def history(session, settings):
    """A report assigned (internal note), commented in public and in private, resolved with an after photo."""
    report = builders.make_report(session, settings)
    actor = builders.staff(session, "coordinateur")[0]
    partner = builders_routing.make_partner(session, "Ville d'Aix, propreté")
    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=actor,
                  note="Interne : appeler M. Roux au 06 99 88 77 66")
    triage.comment(session=session, report=report, actor=actor, note="Intervention prévue cette semaine.",
                   public=True)
    triage.comment(session=session, report=report, actor=actor, note="Interne : clé chez le gardien.")
    triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.EN_COURS,
                         actor=actor)
    triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings), report=report,
                   actor=actor, note="Sacs enlevés.", after_photo=io.BytesIO(builders.jpeg()))
    return report


def test_updates_in_json(client, session, settings):
    report = history(session, settings)

    response = client.get("/open311/v2/servicerequestupdates.json")

    assert response.status_code == 200
    updates = [u for u in response.json() if u["service_request_id"] == report.reference]
    assert [list(u) for u in updates] == [UPDATE_FIELDS] * 4
    assert [(u["status"], u["description"]) for u in updates] == [
        ("action_scheduled", ""),  # qualified on assignment; the assignment note is internal
        ("action_scheduled", "Intervention prévue cette semaine."),
        ("in_progress", ""),
        ("fixed", "Sacs enlevés."),
    ]
    after = next(p for p in report.photos if p.kind == "apres")
    assert updates[-1]["media_url"] == f"/media/{after.display_key}"
    assert all(u["media_url"] == "" for u in updates[:-1])
    assert len({u["update_id"] for u in updates}) == 4
    assert all(u["updated_datetime"][-6:] in ("+01:00", "+02:00") for u in updates)


def test_updates_in_xml(client, session, settings):
    report = history(session, settings)

    root = o311.xml(client.get("/open311/v2/servicerequestupdates.xml"))

    assert root.tag == "service_request_updates"
    updates = [u for u in root.findall("request_update") if u.findtext("service_request_id") == report.reference]
    assert [c.tag for c in updates[0]] == UPDATE_FIELDS
    assert [u.findtext("status") for u in updates] == ["action_scheduled", "action_scheduled", "in_progress", "fixed"]


def test_a_rejection_says_why(client, session, settings):
    duplicate, master = builders.make_report(session, settings), builders.make_report(session, settings)
    triage.merge(session=session, settings=settings, duplicate=duplicate, master=master, actor=None)

    updates = [u for u in client.get("/open311/v2/servicerequestupdates.json").json()
               if u["service_request_id"] == duplicate.reference]
    assert [u["status"] for u in updates] == ["duplicate"]
    assert master.reference in updates[0]["description"]


def test_the_window_and_paging(client, session, settings):
    report = history(session, settings)
    now = datetime.now(UTC)
    later = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    far = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert client.get(f"/open311/v2/servicerequestupdates.json?start_date={later}&end_date={far}").json() == []
    first = client.get("/open311/v2/servicerequestupdates.json?page_size=3").json()
    second = client.get("/open311/v2/servicerequestupdates.json?page_size=3&page=2").json()
    mine = [u for u in first + second if u["service_request_id"] == report.reference]
    assert len(mine) == 4


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_window_over_90_days_is_a_400(client, fmt):
    response = client.get(f"/open311/v2/servicerequestupdates.{fmt}"
                          "?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    assert response.status_code == 400
    errors = o311.json_errors(response) if fmt == "json" else o311.xml_errors(response)
    assert [d for _, d in errors] == [("La période de start_date à end_date ne peut dépasser 90 jours : "
                                      "découpez la recherche.")]
