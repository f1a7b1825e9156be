"""A client retrying after a timeout creates nothing twice: Idempotency-Key, or the same form soon after."""

from __future__ import annotations

import urllib.parse
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gusp.models import Report
from tests import builders
from tests.open311 import builders_open311 as o311


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Report))


def post(client, form, *, key: str | None = None, fmt: str = "json"):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/open311/v2/requests.{fmt}", content=urllib.parse.urlencode(form), headers=headers)


def test_the_same_key_replays_the_first_answer(client, session, api_key):
    form = o311.fields(session, api_key)
    first = post(client, form, key="fms-problem-4242")
    before = count(session)

    again = post(client, form, key="fms-problem-4242")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert count(session) == before


def test_the_same_key_with_another_form_is_refused(client, session, api_key):
    post(client, o311.fields(session, api_key), key="k-1")
    before = count(session)

    response = post(client, o311.fields(session, api_key, description="Autre chose"), key="k-1")

    assert response.status_code == 400
    assert o311.json_errors(response) == [
        (400, "Cette clé Idempotency-Key a déjà servi pour une autre demande : utilisez-en une nouvelle.")]
    assert count(session) == before


def test_a_key_is_scoped_to_its_client(client, session, api_key):
    other_key = o311.make_client(session)[0]
    first = post(client, o311.fields(session, api_key), key="shared-key").json()[0]["service_request_id"]
    second = post(client, o311.fields(session, other_key, description="Un autre problème"),
                  key="shared-key").json()[0]["service_request_id"]
    assert first != second


def test_an_invalid_key_is_a_400(client, session, api_key):
    response = post(client, o311.fields(session, api_key), key="x" * 129)
    assert response.status_code == 400


def test_an_identical_post_without_key_is_a_retry(client, session, api_key):
    form = o311.fields(session, api_key, email="a@example.org", **{"attribute[uprn]": "1"})
    first = post(client, form, fmt="xml")
    before = count(session)

    reordered = dict(reversed(list(form.items())))  # the same form, fields in another order
    again = post(client, reordered, fmt="xml")

    assert again.status_code == 200 and again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(session) == before


def test_an_identical_post_after_the_window_is_a_new_report(client, session, api_key, settings):
    form = o311.fields(session, api_key)
    reference = post(client, form).json()[0]["service_request_id"]
    report = session.scalars(select(Report).where(Report.reference == reference)).one()
    report.created_at -= timedelta(minutes=settings.open311_dedupe_minutes + 1)
    session.flush()

    assert post(client, form).json()[0]["service_request_id"] != reference


@pytest.mark.parametrize("change", [{"description": "Autre description"}, {"lat_shift": 0.0001}])
def test_a_different_form_is_a_new_report(client, session, api_key, change):
    form = o311.fields(session, api_key)
    first = post(client, form).json()[0]["service_request_id"]
    if "lat_shift" in change:
        form["lat"] = str(float(form["lat"]) + change["lat_shift"])
    else:
        form.update(change)
    assert post(client, form).json()[0]["service_request_id"] != first


def test_identical_posts_from_two_clients_are_two_reports(client, session, api_key):
    other_key = o311.make_client(session)[0]
    form = o311.fields(session, api_key)
    first = post(client, form).json()[0]["service_request_id"]
    second = post(client, {**form, "api_key": other_key}).json()[0]["service_request_id"]
    assert first != second


def test_file_photos_are_part_of_the_form(client, session, api_key):
    form = o311.fields(session, api_key)
    first = client.post("/open311/v2/requests.json", data=form,
                        files=[("photo1", ("a.jpg", builders.jpeg(200, 100), "image/jpeg"))]).json()
    same = client.post("/open311/v2/requests.json", data=form,
                       files=[("photo1", ("a.jpg", builders.jpeg(200, 100), "image/jpeg"))]).json()
    other = client.post("/open311/v2/requests.json", data=form,
                        files=[("photo1", ("a.jpg", builders.jpeg(100, 200), "image/jpeg"))]).json()
    assert first == same and other != first


def test_the_window_can_be_switched_off(client, session, api_key, settings, app):
    app.state.settings = settings.model_copy(update={"open311_dedupe_minutes": 0})
    form = o311.fields(session, api_key)
    assert post(client, form).json() != post(client, form).json()
