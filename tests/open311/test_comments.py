"""POST servicerequestupdates (mySociety's extension): a client's comment becomes a public comment,
coordinators are told, the workflow does not move, and a retry records nothing twice."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from gusp import notify, states
from gusp.models import OutboxMessage, ReportEvent, ReportPhoto
from gusp.models.open311 import Open311UpdateReceipt
from tests import builders
from tests.open311 import builders_open311 as o311


def update_form(api_key: str | None, reference: str, **overrides: str) -> dict[str, str]:
    """What FixMyStreet's post_service_request_update sends."""
    form = {"api_key": api_key, "service_request_id": reference, "update_id": "8812", "status": "OPEN",
            "description": "Toujours là ce matin, et les sacs ont été éventrés.",
            "updated_datetime": "2026-12-04T09:15:00+01:00", "first_name": "Nadia", "last_name": "Kaci",
            "email": "nadia.kaci@example.org", **overrides}
    return {k: v for k, v in form.items() if v is not None}


def post(client, form, fmt: str = "xml", **kwargs):
    if "files" in kwargs:
        return client.post(f"/open311/v2/servicerequestupdates.{fmt}", data=form, **kwargs)
    return client.post(f"/open311/v2/servicerequestupdates.{fmt}", content=urllib.parse.urlencode(form),
                       headers={"Content-Type": "application/x-www-form-urlencoded", **kwargs.get("headers", {})})


def comments_of(session, report) -> list[ReportEvent]:
    return list(session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                          ReportEvent.kind == "commented")))


@pytest.fixture
def report(session, settings):
    return builders.make_report(session, settings)


def test_a_comment_lands_as_a_public_comment_and_answers_its_update_id(client, session, api_key, report):
    coordinators = [builders.staff(session, "coordinateur")[0] for _ in range(2)]

    response = post(client, update_form(api_key, report.reference))

    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)  # what FixMyStreet reads: request_update[0].update_id
    assert root.tag == "service_request_updates"
    [event] = comments_of(session, report)
    assert root.find("request_update").findtext("update_id") == str(event.id)
    assert (event.note, event.note_public, event.actor) == (
        "Toujours là ce matin, et les sacs ont été éventrés.", True, None)
    assert event.data["open311_update_id"] == "8812" and event.data["open311_status"] == "OPEN"
    assert event.data["contact_dropped"] is True
    assert "nadia" not in str(event.data).lower()
    assert report.status == states.ReportStatus.NOUVEAU  # the client's status is recorded, never applied

    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == notify.MailKind.STAFF_NOTICE,
                                                        OutboxMessage.report_id == report.id)).all()
    assert sorted(m.recipient for m in mails) == sorted(u.email for u in coordinators)
    assert "Toujours là ce matin" in mails[0].body_text and report.reference in mails[0].subject
    assert "nadia" not in mails[0].body_text.lower()


def test_the_comment_shows_on_every_public_surface(client, session, api_key, report):
    post(client, update_form(api_key, report.reference))

    updates = client.get("/open311/v2/servicerequestupdates.json").json()
    assert [(u["service_request_id"], u["description"]) for u in updates] == [
        (report.reference, "Toujours là ce matin, et les sacs ont été éventrés.")]
    assert updates[0]["status"] == "open"  # GUSP's status of the request, not the client's
    [request] = client.get(f"/open311/v2/requests/{report.reference}.json").json()
    assert request["status_notes"] == "Toujours là ce matin, et les sacs ont été éventrés."
    timeline = client.get(f"/api/v1/reports/{report.reference}").json()["timeline"]
    assert timeline[-1]["note"] == "Toujours là ce matin, et les sacs ont été éventrés."


def test_a_retry_of_the_same_update_id_records_nothing_twice(client, session, api_key, report):
    first = post(client, update_form(api_key, report.reference))
    again = post(client, update_form(api_key, report.reference), fmt="json")

    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == [{"update_id": ET.fromstring(first.content).find("request_update").findtext("update_id")}]
    assert len(comments_of(session, report)) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == notify.MailKind.STAFF_NOTICE)) == 0  # no coordinator here, and no second mail


def test_the_same_update_id_with_another_text_is_refused(client, session, api_key, report):
    post(client, update_form(api_key, report.reference))
    response = post(client, update_form(api_key, report.reference, description="Autre chose"), fmt="json")
    assert response.status_code == 400
    assert len(comments_of(session, report)) == 1


def test_without_update_id_an_identical_post_is_a_retry_and_a_new_text_is_not(client, session, api_key, report):
    form = update_form(api_key, report.reference, update_id=None)
    post(client, form)
    post(client, form)
    post(client, {**form, "description": "Et maintenant un matelas."})
    assert [e.note for e in comments_of(session, report)] == [
        "Toujours là ce matin, et les sacs ont été éventrés.", "Et maintenant un matelas."]


def test_an_idempotency_key_names_the_comment(client, session, api_key, report):
    form = update_form(api_key, report.reference, update_id=None)
    post(client, form, headers={"Idempotency-Key": "c-1"})
    post(client, form, headers={"Idempotency-Key": "c-1"})
    assert len(comments_of(session, report)) == 1
    assert session.scalar(select(func.count()).select_from(Open311UpdateReceipt)) == 1


def test_photos_of_a_comment_join_the_report(client, session, api_key, report):
    response = post(client, update_form(api_key, report.reference, description=""), fmt="json",
                    files=[("photo1", ("a.jpg", builders.jpeg(500, 400), "image/jpeg"))])

    assert response.status_code == 200, response.text
    session.refresh(report)
    assert [(p.kind, p.width) for p in report.photos] == [("signalement", 500)]
    [event] = comments_of(session, report)
    assert event.note == "Photo ajoutée par le déclarant." and event.data["photos"] == 1


@pytest.mark.parametrize(("overrides", "status", "message"), [
    ({"service_request_id": "GUSP-2020-999999"}, 404, "Aucune demande ne porte l'identifiant « GUSP-2020-999999 »."),
    ({"service_request_id": ""}, 400, "Le champ service_request_id est obligatoire."),
    ({"description": ""}, 400, "La mise à jour est vide : envoyez description (ou une photo)."),
    ({"description": "x" * 4001}, 400, "description : texte trop long (4000 caractères au plus)."),
    ({"updated_datetime": "hier"}, 400,
     "updated_datetime : date invalide « hier » ; format attendu W3C, par exemple 2026-01-31T08:00:00Z."),
    ({"key": "o311_" + "x" * 40}, 403,
     "Clé d'API (api_key) absente ou invalide : impossible d'ajouter la mise à jour."),
])
def test_bad_updates_are_refused_in_the_spec_format_and_write_nothing(client, session, api_key, report, overrides,
                                                                      status, message):
    overrides = dict(overrides)
    key = overrides.pop("key", api_key)
    response = post(client, update_form(key, report.reference, **overrides), fmt="json")

    assert response.status_code == status
    assert o311.json_errors(response) == [(status, message)]
    assert comments_of(session, report) == []
    assert session.scalar(select(func.count()).select_from(ReportPhoto).where(ReportPhoto.report_id == report.id)) == 0
