"""POST requests as real clients send them: taken, with what could not be kept left out and recorded.

FixMyStreet always sends `first_name`, `last_name`, `email` (consent or not), uploads photos as
`photo1`, `photo2`… file parts or sends several `media_url`, adds attributes of its own
(`attribute[uprn]`) and forwards phones in their country's format.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gusp.models import Report, ReporterContact, ReportEvent, ReportPhoto
from gusp.open311 import services
from tests import builders
from tests.open311 import builders_open311 as o311

CONSENT = f"attribute[{services.CONSENT}]"
FMS_CONTACT = {"first_name": "Nadia", "last_name": "Kaci", "email": "nadia.kaci@example.org"}


def stored(session, response) -> Report:
    assert response.status_code == 200, response.text
    reference = response.json()[0]["service_request_id"]
    return session.scalars(select(Report).where(Report.reference == reference)).one()


def created_event(session, report: Report) -> ReportEvent:
    return session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                     ReportEvent.kind == "created")).one()


@pytest.mark.parametrize("consent", [None, "", "non"])
def test_contact_details_without_consent_are_dropped_and_the_report_taken(client, session, api_key, consent):
    form = o311.fields(session, api_key, phone="06 11 22 33 44", **FMS_CONTACT)
    if consent is not None:
        form[CONSENT] = consent

    report = stored(session, o311.post(client, form))

    assert session.get(ReporterContact, report.id) is None
    event = created_event(session, report)
    assert event.data["contact_dropped"] is True
    assert "nadia" not in str(event.data).lower() and "0611" not in str(event.data)


def test_an_invalid_email_without_consent_does_not_refuse_the_report(client, session, api_key):
    report = stored(session, o311.post(client, o311.fields(session, api_key, email="pas-un-mail")))
    assert session.get(ReporterContact, report.id) is None


def test_with_consent_the_contact_is_kept(client, session, api_key):
    report = stored(session, o311.post(client, o311.fields(session, api_key, **FMS_CONTACT, **{CONSENT: "oui"})))

    contact = session.get(ReporterContact, report.id)
    assert (contact.name, contact.email, contact.consent) == ("Nadia Kaci", "nadia.kaci@example.org", True)
    assert "contact_dropped" not in created_event(session, report).data


@pytest.mark.parametrize(("phone", "kept"), [
    ("07700 900123", "07700 900123"),  # a British mobile, national format
    ("(555) 555-5555", "(555) 555-5555"),  # North American
    ("+44 7700 900123", "+447700900123"),  # international: normalised
    ("06.11.22.33.44", "0611223344"),  # French: normalised as on the public form
])
def test_phones_of_other_countries_are_kept_as_written(client, session, api_key, phone, kept):
    form = o311.fields(session, api_key, phone=phone, **{CONSENT: "oui"})

    report = stored(session, o311.post(client, form))

    assert session.get(ReporterContact, report.id).phone == kept


def test_photos_as_file_parts_are_stored_in_their_order(client, session, api_key):
    form = o311.fields(session, api_key, description="")
    files = [("photo2", ("b.jpg", builders.jpeg(300, 200), "image/jpeg")),
             ("photo1", ("a.jpg", builders.jpeg(640, 480), "image/jpeg")),
             ("file_plan", ("plan.pdf", b"%PDF-1.4", "application/pdf"))]

    report = stored(session, client.post("/open311/v2/requests.json", data=form, files=files))

    assert [(p.width, p.height) for p in report.photos] == [(640, 480), (300, 200)]
    assert created_event(session, report).data["ignored_files"] == ["file_plan"]


def test_a_bad_file_part_photo_is_refused_and_nothing_is_written(client, session, api_key):
    before = session.scalar(select(func.count()).select_from(Report))
    form = o311.fields(session, api_key)
    response = client.post("/open311/v2/requests.json", data=form,
                           files=[("photo1", ("a.gif", b"GIF89a" + b"\0" * 64, "image/gif"))])

    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(Report)) == before


def test_photos_beyond_the_limit_are_left_out_and_counted(client, session, api_key, settings, app):
    app.state.settings = settings.model_copy(update={"max_photos": 2})
    files = [(f"photo{i}", (f"{i}.jpg", builders.jpeg(100 + i, 100), "image/jpeg")) for i in (1, 2, 3)]

    report = stored(session, client.post("/open311/v2/requests.json", data=o311.fields(session, api_key),
                                         files=files))

    assert [p.width for p in report.photos] == [101, 102]
    assert created_event(session, report).data["photos_ignored"] == 1


def test_unknown_attributes_are_ignored_and_their_names_recorded(client, session, api_key):
    form = o311.fields(session, api_key, **{"attribute[uprn]": "100012345678", "attribute[last_name]": "Kaci",
                                            "attribute[asset_id][]": "lamp-42", f"attribute[{services.ACCURACY}]": "8"})

    report = stored(session, o311.post(client, form))

    assert report.accuracy_m == 8
    data = created_event(session, report).data
    assert data["ignored_attributes"] == ["asset_id", "last_name", "uprn"]
    assert "100012345678" not in str(data) and "Kaci" not in str(data)  # values could be personal: not kept


def test_a_known_attribute_with_a_wrong_value_is_still_a_400(client, session, api_key):
    response = o311.post(client, o311.fields(session, api_key, **{CONSENT: "peut-être"}))
    assert response.status_code == 400


def test_the_client_account_id_is_echoed_never_kept(client, session, api_key):
    response = o311.post(client, o311.fields(session, api_key, account_id="fms-user-77"))

    report = stored(session, response)
    assert response.json()[0]["account_id"] == "fms-user-77"
    assert "fms-user-77" not in str(created_event(session, report).data)
    assert session.scalar(select(func.count()).select_from(ReportPhoto).where(ReportPhoto.report_id == report.id)) == 0
