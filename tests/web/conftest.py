"""Browser tests: a real uvicorn server on a loopback port, Debian's Chromium driven by Playwright.

One database and one server for the whole web suite (created like `committed_settings`, with real
commits, dropped at the end): starting them per test would cost more than the tests themselves.
Each test makes its own reports and looks them up by their own description or reference.
Screenshots and accessibility reports go to tests/web/artefacts/ (ignored by git).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.engine import make_url

from gusp import accounts, db, migrate, partners
from gusp.config import PROJECT_DIR, Settings
from gusp.geo import perimeters
from gusp.models import Quartier

CHROMIUM = os.environ.get("GUSP_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
NODE_MODULES = PROJECT_DIR / "web" / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
ARTEFACTS = Path(__file__).parent / "artefacts"
PASSWORD = "phrase de passe des tests web"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1400, "height": 950}}


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (scripts/setup_web.sh installs Debian's chromium)"
    if not AXE.exists():
        return "web/node_modules is missing (scripts/setup_web.sh runs npm ci in web/)"
    return None


@dataclass(frozen=True)
class Accounts:
    coordinator: str
    partner: str
    group: str
    partner_id: int
    partner_name: str
    admin: str = "administration@gusp.example"


@dataclass
class LiveServer:
    url: str
    settings: Settings
    accounts: Accounts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def web_settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    url = make_url(base_settings.database_url).set(database=f"gusp_web_{uuid.uuid4().hex[:12]}")
    settings = base_settings.model_copy(update={
        "database_url": url.render_as_string(hide_password=False),
        "media_dir": tmp_path_factory.mktemp("web-media"),
    })
    migrate.upgrade(settings=settings)
    from tests import clock

    clock.shift_database(settings.database_url)
    try:
        with db.command_session(settings.database_url) as session:
            perimeters.load(session=session, path=settings.perimeters_file)
        yield settings
    finally:
        db.drop_database(settings.database_url)


def _seed(settings: Settings) -> Accounts:
    with db.command_session(settings.database_url) as session:
        partner = partners.create_partner(session=session, name="Pays d'Aix Habitat", kind="bailleur",
                                          emails=["gestion@pah.example"])
        quartier_ids = list(session.query(Quartier.id))
        accounts.create_user(session=session, email="coordination@gusp.example", full_name="Claire Coordination",
                             password=PASSWORD, role="coordinateur")
        accounts.create_user(session=session, email="bailleur@gusp.example", full_name="Paul Partenaire",
                             password=PASSWORD, role="partenaire", partner_id=partner.id)
        accounts.create_user(session=session, email="groupe@gusp.example", full_name="Gaëlle Groupe",
                             password=PASSWORD, role="groupe", quartier_ids=[q.id for q in quartier_ids])
        accounts.create_user(session=session, email="administration@gusp.example", full_name="Anne Administration",
                             password=PASSWORD, role="admin")
        return Accounts("coordination@gusp.example", "bailleur@gusp.example", "groupe@gusp.example", partner.id,
                        partner.name)


@pytest.fixture(scope="session")
def live_server(web_settings: Settings) -> Iterator[LiveServer]:
    """The real app (`create_app`) served by uvicorn in a thread, on a free loopback port."""
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from gusp.api.main import create_app

    seeded = _seed(web_settings)
    with serve(create_app(web_settings)) as url:
        yield LiveServer(url, web_settings, seeded)


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve an app with uvicorn in a thread on a free loopback port; its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="gusp-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def browser(live_server: LiveServer) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the web tests need the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS


class Pages:
    """Opens browser contexts for a test and checks, at its end, that no page threw an error or broke the CSP."""

    def __init__(self, browser, server: LiveServer, artefacts: Path, test_name: str):
        self.browser = browser
        self.server = server
        self.artefacts = artefacts
        self.test_name = test_name
        self.contexts = []
        self.errors: list[str] = []

    def context(self, *, phone: bool = False, service_workers: str = "block", base_url: str | None = None, **options):
        """`base_url`: another server (e.g. with other settings); `options` override the viewport's."""
        context = self.browser.new_context(
            base_url=base_url or self.server.url, locale="fr-FR", timezone_id="Europe/Paris",
            service_workers=service_workers, **{**(PHONE if phone else DESKTOP), **options},
        )
        context.set_default_timeout(10_000)
        # Added by the browser's debugging protocol, so not itself subject to the pages' CSP.
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => console.error("
            "`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"
        )
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def _watch(self, page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: self._console(page, message))

    def _console(self, page, message) -> None:
        """Console errors are printed; a Content-Security-Policy violation fails the test."""
        if message.type != "error":
            return
        print(f"console ({page.url}): {message.text}")
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            self.errors.append(f"{page.url}: {message.text}")

    def shoot(self, page, name: str) -> Path:
        path = self.artefacts / f"{self.test_name}--{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def check_accessibility(self, page, name: str) -> None:
        """axe-core on the page as it is now: no serious or critical violation (RGAA / WCAG 2.1 AA)."""
        # Evaluated through the debugging protocol: neither an inline script (CSP) nor a download (offline).
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
        violations = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))"""
        )
        (self.artefacts / f"{self.test_name}--{name}.axe.json").write_text(
            json.dumps(violations, ensure_ascii=False, indent=2), encoding="utf-8")
        serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
        assert not serious, f"accessibilité ({name}) : {json.dumps(serious, ensure_ascii=False, indent=2)}"

    def sign_in(self, page, email: str, next_path: str | None = None) -> None:
        page.goto("/connexion" + (f"?suite={next_path}" if next_path else ""))
        page.get_by_label("Adresse e-mail").first.fill(email)
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(lambda url: "/connexion" not in url)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_server: LiveServer, artefacts: Path, request: pytest.FixtureRequest) -> Iterator[Pages]:
    helper = Pages(browser, live_server, artefacts, request.node.name)
    try:
        yield helper
    finally:
        helper.close()
    assert not helper.errors, "JavaScript errors: " + "\n".join(helper.errors)
