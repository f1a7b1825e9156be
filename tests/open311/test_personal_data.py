"""No personal data in any GET answer: contact details, client identifiers, staff names, internal notes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gusp import states, triage
from gusp.models import Report
from gusp.open311 import services
from tests import builders, builders_routing
from tests.open311 import builders_open311 as o311

SECRETS = ["Fatima", "Benali", "fatima.benali", "0612345678", "06 12 34 56 78", "appareil-7f3a", "compte-9921",
           "3 rue des Lilas", "Coordinatrice Durand", "Interne", "gardien", "@example", "o311_"]


@pytest.fixture
def reference(client, session, settings, api_key) -> str:
    form = o311.fields(
        session, api_key, first_name="Fatima", last_name="Benali", email="fatima.benali@example.org",
        phone="06 12 34 56 78", device_id="appareil-7f3a", account_id="compte-9921",
        address_string="devant chez moi, 3 rue des Lilas", **{f"attribute[{services.CONSENT}]": "oui"},
    )
    created = o311.post(client, form)
    assert created.status_code == 200, created.text
    assert "Fatima" not in created.text
    assert created.json()[0]["account_id"] == "compte-9921"  # the client's own id, echoed to it and never kept
    reference = created.json()[0]["service_request_id"]
    report = session.scalars(select(Report).where(Report.reference == reference)).one()
    actor = builders.staff(session, "coordinateur", name="coordinatrice durand")[0]
    partner = builders_routing.make_partner(session, "Bailleur Sud")
    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=actor,
                  note="Interne : Mme Benali rappelle souvent")
    triage.comment(session=session, report=report, actor=actor, note="Interne : voir le gardien")
    triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.EN_COURS,
                         actor=actor, note="Interne : prévenir Fatima", note_public=False)
    return reference


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_no_get_answer_carries_personal_data(client, reference, fmt):
    paths = [
        f"/open311/v2/requests/{reference}.{fmt}",
        f"/open311/v2/requests/{reference}.{fmt}?extensions=true",
        f"/open311/v2/requests.{fmt}",
        f"/open311/v2/requests.{fmt}?service_request_id={reference}&extensions=true",
        f"/open311/v2/servicerequestupdates.{fmt}",
        f"/open311/v2/services.{fmt}",
        f"/open311/v2/services/proprete.{fmt}",
        f"/open311/discovery.{fmt}",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert reference in response.text or "services" in path or "discovery" in path
        for secret in SECRETS:
            assert secret.lower() not in response.text.lower(), (path, secret)
