"""A phone that resends on a bad network gets the report already created, not a second one."""

from __future__ import annotations

from sqlalchemy import func, select

from gusp.models import Report, ReportPhoto
from tests import builders
from tests.api.test_reports import post


def test_retry_with_the_same_key_returns_the_first_report(client, session, settings):
    fields = builders.form(session)
    photo = builders.jpeg(1000, 700)
    headers = {"Idempotency-Key": "b7c6f1c2-3f6e-4a51-9a55-7c1d2f5b9e01"}

    first = post(client, fields, [photo], headers)
    files_after_first = builders.stored_files(settings)
    second = post(client, fields, [photo], headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert session.scalar(select(func.count()).select_from(Report)) == 1
    assert session.scalar(select(func.count()).select_from(ReportPhoto)) == 1
    assert builders.stored_files(settings) == files_after_first


def test_same_key_for_a_different_report_is_refused(client, session, settings):
    headers = {"Idempotency-Key": "cle-reutilisee"}
    assert post(client, builders.form(session), headers=headers).status_code == 201

    changed = post(client, builders.form(session, description="Autre chose"), headers=headers)
    other_photo = post(client, builders.form(session), [builders.jpeg(300, 300)], headers)

    for response in (changed, other_photo):
        assert response.status_code == 422
        assert response.json()["code"] == "idempotence_conflit"
    assert session.scalar(select(func.count()).select_from(Report)) == 1


def test_without_a_key_two_posts_make_two_reports(client, session):
    fields = builders.form(session)
    references = {post(client, fields).json()["reference"] for _ in range(2)}
    assert len(references) == 2
