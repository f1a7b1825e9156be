"""After sign-in, `?suite=` leads only to a path of this site (issue 10, point 3: open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web.conftest import PASSWORD

HOSTILE = [
    "/%09/evil.example/", "/%0A/evil.example/", "/%0D/evil.example/", "/%09%5C/evil.example/",
    "//evil.example/", "/%2F/evil.example/", "/%5C/evil.example/", "/%5Cevil.example/",
    "/%252F%252Fevil.example/", "https://evil.example/", "javascript:alert(1)", "%2F%2Fevil.example",
    "/%E0%A4%A/", "/%C0%AF/evil.example/",
]


def sign_in_with(page, suite: str, email: str) -> str:
    page.goto(f"/connexion?suite={suite}")
    page.get_by_label("Adresse e-mail").first.fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion" not in url)
    return page.url


def test_hostile_next_pages_lead_home(pages, live_server):
    origin = urlsplit(live_server.url).netloc
    for suite in HOSTILE:
        page = pages.context().new_page()
        landed = urlsplit(sign_in_with(page, suite, live_server.accounts.coordinator))
        assert landed.netloc == origin and not landed.path.startswith("//"), (suite, landed)
        assert landed.path == "/gestion" or suite == "/%C0%AF/evil.example/", (suite, landed)  # U+FFFD: harmless


@pytest.mark.parametrize("suite, expected", [("/carte%3Fimpression%3DA4", "/carte?impression=A4"),
                                             ("/gestion/signalements/GUSP-2026-000001", None)])
def test_a_path_of_this_site_is_followed(pages, live_server, suite, expected):
    page = pages.context().new_page()
    landed = urlsplit(sign_in_with(page, suite, live_server.accounts.coordinator))
    assert landed.netloc == urlsplit(live_server.url).netloc
    wanted = expected or suite
    assert landed.path + (f"?{landed.query}" if landed.query else "") == wanted
