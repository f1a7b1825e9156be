"""Every date of the staff JSON in Paris time with its offset, whichever field it is (issue 14, point 3)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gusp import partners, states, triage
from tests import builders

pytestmark = pytest.mark.clock  # winter, summer, around midnight: the offset follows the date

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def dates(value, path="$"):
    """Every (path, string) of a JSON document that is a date and time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from dates(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from dates(item, f"{path}[{i}]")
    elif isinstance(value, str) and ISO.match(value):
        yield path, value


def assert_paris(document, *, at_least: int) -> None:
    found = list(dates(document))
    assert len(found) >= at_least, found
    paris = ZoneInfo("Europe/Paris")
    for path, text in found:
        moment = datetime.fromisoformat(text)
        assert not text.endswith("Z"), (path, text)
        assert moment.utcoffset() == moment.astimezone(paris).utcoffset(), (path, text)


def test_detail_list_duplicates_me_and_tokens_speak_paris_time(client, session, settings):
    user, headers = builders.staff(session, "coordinateur")
    ville = partners.create_partner(session=session, name="Ville", kind="ville", emails=["v@x.example"])
    report = builders.make_report(session, settings, description="Sacs éventrés devant le hall")
    builders.make_report(session, settings, description="Sacs éventrés devant le hall, encore")
    triage.assign(session=session, settings=settings, report=report, partner=ville, actor=user)
    triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.RESOLU, actor=user)
    triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.CLOS, actor=user)
    url = f"/api/v1/gestion/reports/{report.reference}"

    detail = client.get(url, headers=headers).json()
    assert_paris(detail, at_least=8)
    for field in ("created_at", "due_at", "acknowledged_at", "assigned_at", "resolved_at", "closed_at"):
        assert ISO.match(detail[field]), field
    assert_paris(client.get("/api/v1/gestion/reports", headers=headers).json(), at_least=3)
    assert_paris(client.get(f"{url}/duplicates", headers=headers).json(), at_least=0)
    assert_paris(client.get("/api/v1/auth/tokens", headers=headers).json(), at_least=1)
