"""Rate limits against mail bombing and floods (issue 10, point 5), counted in PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gusp import throttle
from gusp.models import OutboxMessage
from gusp.models.throttle import RateCounter
from tests import builders

pytestmark = pytest.mark.clock  # fixed windows of an hour and a day


def client_from(app, ip: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(ip, 50000))


def test_anonymous_intake_is_limited_per_client_address(app, session, settings):
    limited = settings.model_copy(update={"intake_per_ip_per_hour": 3})
    app.state.settings = limited
    form = builders.form(session, description="Dépôt sauvage")
    phone = client_from(app, "203.0.113.7")
    assert [phone.post("/api/v1/reports", data=form).status_code for _ in range(3)] == [201, 201, 201]
    refused = phone.post("/api/v1/reports", data=form)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "trop_de_demandes" and "Réessayez dans" in body["message"]
    assert 0 < int(refused.headers["retry-after"]) <= 3600 and body["retry_after"] == int(refused.headers["retry-after"])
    assert client_from(app, "203.0.113.8").post("/api/v1/reports", data=form).status_code == 201
    _, staff = builders.staff(session, "agent")
    assert phone.post("/api/v1/reports", data=form, headers=staff).status_code == 201  # signed in: not limited


def test_receipts_to_one_address_are_limited(app, session, settings):
    """25 reports naming a victim's address must not mean 25 mails from the city's domain."""
    app.state.settings = settings.model_copy(update={"mails_per_recipient_per_day": 2})
    victim = "Victime@Example.org"
    statuses = []
    for n in range(4):
        form = builders.form(session, description=f"Signalement {n}", contact_email=victim, contact_consent="true")
        statuses.append(client_from(app, f"198.51.100.{n}").post("/api/v1/reports", data=form).status_code)
    assert statuses == [201, 201, 429, 429]
    _, agent = builders.staff(session, "agent")  # a member of staff filing for the resident is no stranger
    form = builders.form(session, description="Relevé par l'agent", contact_email=victim, contact_consent="true")
    assert client_from(app, "198.51.100.9").post("/api/v1/reports", data=form, headers=agent).status_code == 201
    sent = session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(func.lower(OutboxMessage.recipient) == victim.lower()))
    assert sent == 3
    keys = list(session.scalars(select(RateCounter.key)))
    assert keys and not any("victime" in k.lower() or "198.51" in k for k in keys)  # hashed: no personal data


def test_open311_receipts_are_limited_too(app, session, settings):
    from tests.open311 import builders_open311

    app.state.settings = settings.model_copy(update={"mails_per_recipient_per_day": 1})
    key = builders_open311.make_client(session)[0]
    client = client_from(app, "192.0.2.50")
    statuses = []
    for n in range(2):
        form = builders_open311.fields(session, key, email="cible@example.org", description=f"Encombrants {n}",
                                       **{"attribute[consentement]": "oui"})
        response = builders_open311.post(client, form)
        statuses.append(response.status_code)
    assert statuses == [200, 429]
    assert int(response.headers["retry-after"]) > 0


def test_password_reset_requests_are_limited_per_client_address(app, session, settings):
    app.state.settings = settings.model_copy(update={"mail_requests_per_ip_per_hour": 2})
    client = client_from(app, "192.0.2.77")
    statuses = [client.post("/api/v1/auth/password-reset", json={"email": f"x{n}@ville.example.fr"}).status_code
                for n in range(3)]
    assert statuses == [202, 202, 429]


def test_counters_count_exactly_and_purge(session):
    for _ in range(3):
        throttle.hit(session=session, key="essai", limit=5, window=throttle.HOUR, message="Trop.")
    assert session.scalar(select(func.sum(RateCounter.count)).where(RateCounter.key == "essai")) == 3
    assert throttle.purge(session=session) == 0

