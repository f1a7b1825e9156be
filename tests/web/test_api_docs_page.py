"""/docs in a real browser: Swagger UI from our origin lists the operations, within the CSP."""

from __future__ import annotations


def test_api_docs_render_without_csp_violation(pages, live_server):
    page = pages.context().new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20
    assert all(url.startswith(live_server.url) for url in requested), [u for u in requested
                                                                       if not u.startswith(live_server.url)]
    pages.shoot(page, "docs")
