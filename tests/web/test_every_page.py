"""Every page, public and staff (signed in as the role it is for), on a phone and on a desktop:
no console error, no failed request and no axe-core violation at all (any impact).

The list below is the list of pages: a new page gets a line here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from gusp import db, triage
from gusp.models import Partner, Report
from tests.web import photos_web
from tests.web.conftest import AXE, PASSWORD

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 768}}


@dataclass(frozen=True)
class Visit:
    path: str
    role: str | None = None  # an attribute of `live_server.accounts`: coordinator, partner, group
    axe: bool = True


VISITS = [
    Visit("/"),
    Visit("/suivi/{reference}"),
    Visit("/connexion"),
    Visit("/reinitialiser"),
    Visit("/reinitialiser?jeton=jeton-de-test"),
    Visit("/docs", axe=False),  # Swagger UI's own markup (npm swagger-ui-dist): errors and requests only
    Visit("/statistiques"),  # signed out: the page says to sign in, without asking the API
    Visit("/gestion", "coordinator"),
    Visit("/gestion?ref={reference}", "coordinator"),
    Visit("/gestion", "partner"),
    Visit("/gestion?ref={reference}", "partner"),
    Visit("/carte", "coordinator"),
    Visit("/carte", "group"),
    Visit("/gestion", "group"),  # linked from its menu
    Visit("/carte", "partner"),
    Visit("/statistiques", "coordinator"),
    Visit("/statistiques", "group"),
    Visit("/statistiques", "partner"),
    Visit("/dossiers", "coordinator"),
    Visit("/dossiers", "group"),
    Visit("/gestion/courriers", "coordinator"),
    Visit("/gestion/comptes", "admin"),
    Visit("/gestion", "admin"),
    Visit("/compte", "coordinator"),
    Visit("/compte", "partner"),
    Visit("/compte", "group"),
]


@pytest.fixture(scope="module")
def reference(live_server) -> str:
    """A report handled by the seeded partner: its follow page names it, its queue holds it."""
    settings = live_server.settings
    reference = photos_web.make_report(settings, description="Banc cassé près de l'arrêt de bus")
    with db.command_session(settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        triage.assign(session=session, settings=settings, report=report,
                      partner=session.get(Partner, live_server.accounts.partner_id), actor=None)
    return reference


def _ids(visit: Visit) -> str:
    return f"{visit.path}-{visit.role or 'public'}"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("visit", VISITS, ids=_ids)
def test_page_has_no_error_no_failed_request_and_no_axe_violation(browser, live_server, artefacts, reference, visit, viewport):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris",
                                  service_workers="block", **(PHONE if viewport == "phone" else DESKTOP))
    context.set_default_timeout(10_000)
    problems: list[str] = []
    context.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    context.on("weberror", lambda e: problems.append(f"exception: {e.error}"))
    context.on("requestfailed", lambda r: problems.append(f"failed: {r.method} {r.url} {r.failure}"))
    context.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.request.method} {r.url}"))
    try:
        if visit.role:
            email = getattr(live_server.accounts, visit.role)
            signed = context.request.post("/api/v1/auth/login", data={"email": email, "password": PASSWORD})
            assert signed.ok, signed.text()
        page = context.new_page()
        page.goto(visit.path.format(reference=reference))
        page.wait_for_load_state("networkidle")
        if page.locator("body[data-ready]").count() == 0 and "data-ready" in page.content():
            page.wait_for_selector("body[data-ready=true]")
        name = f"{_ids(visit).strip('/').replace('/', '_').replace('?', '_')}-{viewport}"
        page.screenshot(path=str(artefacts / f"every-page--{name}.png"), full_page=True)
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
        violations = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))"""
        )
        assert not problems, "\n".join(problems)
        assert not (visit.axe and violations), json.dumps(violations, ensure_ascii=False, indent=2)
    finally:
        context.close()
