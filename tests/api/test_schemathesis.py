"""Schemathesis over the whole OpenAPI schema, anonymous and as a coordinator: no 5xx, no answer
outside what the schema declares (status codes, content types, bodies).

A bounded run: a fixed number of examples per operation, derandomised (the same cases each run),
and a deadline per example. It walks every operation of `create_app`, so routes added later are
covered without touching this file. The database is its own, with real commits, as in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from sqlalchemy.engine import make_url

from gusp import db, partners
from gusp.api.main import create_app
from gusp.config import Settings
from tests import builders

EXAMPLES = 12
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
RUN = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=20),  # a PDF on a busy shared machine; a hung request fails the run
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@dataclass(frozen=True)
class Fuzzed:
    url: str
    coordinator: dict[str, str]


# The schema of the app as built for production; its routes are walked against a live server.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@pytest.fixture(scope="module")
def fuzzed(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """Its own database with real commits, seeded, served by uvicorn on a loopback port."""
    from tests.conftest import prepare
    from tests.web.conftest import serve

    url = make_url(base_settings.database_url).set(database=f"gusp_fuzz_{uuid.uuid4().hex[:12]}")
    settings_ = base_settings.model_copy(update={
        "database_url": url.render_as_string(hide_password=False),
        "media_dir": tmp_path_factory.mktemp("fuzz-media"),
    })
    prepare(settings_)
    try:
        with db.command_session(settings_.database_url) as session:
            partners.create_partner(session=session, name="Bailleur", kind="bailleur", emails=["b@bailleur.example"])
            builders.make_report(session, settings_, description="Dépôt sauvage devant le local poubelles")
            _, coordinator = builders.staff(session, "coordinateur")
        with serve(create_app(settings_)) as base_url:
            yield Fuzzed(url=base_url, coordinator=coordinator)
    finally:
        db.drop_database(settings_.database_url)


@schema.parametrize()
@RUN
def test_anonymous(case, fuzzed: Fuzzed) -> None:
    case.call_and_validate(base_url=fuzzed.url, checks=CHECKS)


@schema.parametrize()
@RUN
def test_coordinator(case, fuzzed: Fuzzed) -> None:
    case.call_and_validate(base_url=fuzzed.url, headers=fuzzed.coordinator, checks=CHECKS)


# --- stateful: sequences along the links Schemathesis infers (ids from one answer used by the next) --

_LIVE: dict[str, object] = {}


class CoordinatorWorkflow(schema.as_state_machine()):
    """Create a partner, then patch it, route a rule to it, open a diagnostic with it, close it…"""

    def get_call_kwargs(self, case) -> dict[str, object]:
        return {"base_url": _LIVE["url"], "headers": _LIVE["headers"]}

    def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
        case.validate_response(response, checks=CHECKS)


def test_coordinator_workflows(fuzzed: Fuzzed) -> None:
    _LIVE.update(url=fuzzed.url, headers=fuzzed.coordinator)
    CoordinatorWorkflow.run(settings=settings(
        max_examples=15, stateful_step_count=6, deadline=timedelta(seconds=20), derandomize=True,
        suppress_health_check=list(HealthCheck), database=None,
    ))
