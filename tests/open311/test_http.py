"""HEAD wherever GET, OPTIONS, CORS on the GETs, and links that never follow the caller's Host."""

from __future__ import annotations

import pytest

from tests import builders
from tests.open311 import builders_open311 as o311

GETS = [
    "/open311/discovery.{fmt}",
    "/open311/v2/services.{fmt}",
    "/open311/v2/services/proprete.{fmt}",
    "/open311/v2/requests.{fmt}",
    "/open311/v2/requests/{reference}.{fmt}",
    "/open311/v2/servicerequestupdates.{fmt}",
]


@pytest.fixture
def reference(session, settings) -> str:
    return builders.make_report(session, settings, photos=[builders.jpeg()]).reference


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path", GETS)
def test_head_answers_like_get_without_a_body(client, reference, path, fmt):
    url = path.format(fmt=fmt, reference=reference)
    got = client.get(url)

    head = client.head(url)

    assert (head.status_code, got.status_code) == (200, 200)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_missing_request_is_a_404_without_a_body(client):
    response = client.head("/open311/v2/requests/GUSP-2020-999999.json")
    assert (response.status_code, response.content) == (404, b"")


@pytest.mark.parametrize(("path", "allow"), [
    ("/open311/v2/requests.xml", "GET, HEAD, POST, OPTIONS"),
    ("/open311/v2/servicerequestupdates.json", "GET, HEAD, POST, OPTIONS"),
    ("/open311/v2/services.json", "GET, HEAD, OPTIONS"),
    ("/open311/v2/tokens/abc.json", "GET, HEAD, OPTIONS"),
])
def test_options_says_what_is_allowed(client, path, allow):
    response = client.options(path)

    assert response.status_code == 204
    assert response.headers["allow"] == allow
    assert "access-control-allow-origin" not in response.headers  # no Origin: not a preflight


def test_options_of_an_unknown_address_is_a_404_in_open311_form(client):
    response = client.options("/open311/v2/piscines.json")
    assert response.status_code == 404
    assert o311.json_errors(response) == [(404, "Cette adresse n'existe pas dans l'API Open311.")]


def test_a_wrong_method_says_which_are_allowed(client):
    response = client.put("/open311/v2/services.json")
    assert response.status_code == 400
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"


def test_gets_carry_cors_for_any_origin_by_default(client, reference):
    for url in (f"/open311/v2/requests/{reference}.json", "/open311/v2/requests/GUSP-2020-999999.json"):
        response = client.get(url, headers={"Origin": "https://carte.example.org"})
        assert response.headers["access-control-allow-origin"] == "*", url
        assert "access-control-allow-credentials" not in response.headers


def test_a_get_preflight_is_allowed_and_a_post_preflight_is_not(client):
    get = client.options("/open311/v2/requests.json", headers={
        "Origin": "https://carte.example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "accept"})
    post = client.options("/open311/v2/requests.json", headers={
        "Origin": "https://carte.example.org", "Access-Control-Request-Method": "POST"})

    assert get.status_code == 204
    assert get.headers["access-control-allow-origin"] == "*"
    assert get.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert get.headers["access-control-allow-headers"] == "accept"
    assert post.status_code == 204 and "access-control-allow-origin" not in post.headers


def test_posts_get_no_cors_header(client, session, api_key):
    response = client.post("/open311/v2/requests.json", data=o311.fields(session, api_key),
                           headers={"Origin": "https://carte.example.org"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_configured_origins_only(client, app, settings):
    app.state.settings = settings.model_copy(update={"open311_cors_origins": ["https://carte.aixenprovence.fr"]})

    allowed = client.get("/open311/v2/services.json", headers={"Origin": "https://carte.aixenprovence.fr"})
    other = client.get("/open311/v2/services.json", headers={"Origin": "https://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == "https://carte.aixenprovence.fr"
    assert "Origin" in allowed.headers["vary"]
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


def test_links_never_follow_the_host_header(client, reference):
    evil = {"Host": "evil.example"}
    discovery = client.get("/open311/discovery.json", headers=evil).json()
    [request] = client.get(f"/open311/v2/requests/{reference}.json", headers=evil).json()

    assert discovery["endpoints"][0]["url"] == "/open311/v2"
    assert request["media_url"].startswith("/media/")
    assert "evil" not in str(discovery) + str(request)


def test_links_use_the_public_url_when_set(client, app, settings, reference):
    app.state.settings = settings.model_copy(update={"public_url": "https://signalements.aix.example"})
    discovery = client.get("/open311/discovery.json", headers={"Host": "evil.example"}).json()
    assert discovery["endpoints"][0]["url"] == "https://signalements.aix.example/open311/v2"
