"""media_url fetched from a real HTTP server: accepted from an allowed host, refused otherwise."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from gusp.models import Report, ReportPhoto
from gusp.open311 import media
from gusp.photos import budget
from tests import builders
from tests.open311 import builders_open311 as o311

PHOTO = builders.jpeg(800, 600)
PRIVATE = "media_url désigne une adresse privée ou réservée : seules les adresses publiques sont acceptées."


@pytest.fixture
def allow_loopback(app, settings):
    """The test server listens on 127.0.0.1: allowed by name, as a deployment would allow a known host."""
    app.state.settings = settings.model_copy(
        update={"open311_media_allowed_hosts": ["127.0.0.1"], "open311_media_timeout_s": 2.0})
    return app.state.settings


def count(session, model=Report) -> int:
    return session.scalar(select(func.count()).select_from(model))


def refused(client, session, api_key, url, expected: str) -> None:
    before = (count(session), count(session, ReportPhoto))
    response = o311.post(client, o311.fields(session, api_key, media_url=url))
    assert response.status_code == 400, response.text
    assert o311.json_errors(response) == [(400, expected)]
    assert (count(session), count(session, ReportPhoto)) == before


def test_a_photo_from_an_allowed_host_is_processed_like_an_upload(client, session, api_key, media_server,
                                                                   allow_loopback):
    media_server.routes["/photos/p1.jpg?size=large"] = o311.Route(body=PHOTO, headers={"Content-Type": "image/jpeg"})
    url = f"{media_server.base}/photos/p1.jpg?size=large"

    response = o311.post(client, o311.fields(session, api_key, media_url=url, description=""))

    assert response.status_code == 200, response.text
    reference = response.json()[0]["service_request_id"]
    report = session.scalars(select(Report).where(Report.reference == reference)).one()
    [photo] = report.photos
    assert (photo.width, photo.height, photo.source_format) == (800, 600, "JPEG")
    assert len(builders.stored_files(allow_loopback)) == 2  # display and thumbnail
    [body] = client.get(f"/open311/v2/requests/{reference}.json").json()
    assert body["media_url"] == f"/media/{photo.display_key}"  # ours, not the client's (relative: no public URL)


def test_a_redirect_within_allowed_hosts_is_followed(client, session, api_key, media_server, allow_loopback):
    media_server.routes["/r"] = o311.Route(status=302, headers={"Location": "/photo.jpg"})
    media_server.routes["/photo.jpg"] = o311.Route(body=PHOTO)

    assert o311.post(client, o311.fields(session, api_key, media_url=f"{media_server.base}/r")).status_code == 200
    assert media_server.hits == ["/r", "/photo.jpg"]


def test_a_private_address_is_refused_without_a_connection(client, session, api_key, media_server):
    media_server.routes["/photo.jpg"] = o311.Route(body=PHOTO)
    refused(client, session, api_key, f"{media_server.base}/photo.jpg", PRIVATE)
    assert media_server.hits == []


@pytest.mark.parametrize("url", ["http://10.1.2.3/p.jpg", "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]/p.jpg", "http://0.0.0.0/p.jpg", "http://[::ffff:127.0.0.1]/p.jpg",
                                 "https://192.168.1.10:8443/p.jpg"])
def test_private_and_reserved_addresses_are_refused(client, session, api_key, url):
    refused(client, session, api_key, url, PRIVATE)


def test_a_name_resolving_to_loopback_is_refused_even_if_the_address_is_allowed(client, session, api_key,
                                                                                 media_server, allow_loopback):
    port = media_server.base.rsplit(":", 1)[1]
    media_server.routes["/photo.jpg"] = o311.Route(body=PHOTO)
    refused(client, session, api_key, f"http://localhost:{port}/photo.jpg", PRIVATE)
    assert media_server.hits == []


def test_a_redirect_to_a_private_address_is_refused(client, session, api_key, media_server, allow_loopback):
    port = media_server.base.rsplit(":", 1)[1]
    media_server.routes["/r1"] = o311.Route(status=301, headers={"Location": f"http://localhost:{port}/photo.jpg"})
    media_server.routes["/r2"] = o311.Route(status=307, headers={"Location": "http://10.0.0.5/photo.jpg"})
    media_server.routes["/photo.jpg"] = o311.Route(body=PHOTO)

    refused(client, session, api_key, f"{media_server.base}/r1", PRIVATE)
    refused(client, session, api_key, f"{media_server.base}/r2", PRIVATE)
    assert "/photo.jpg" not in media_server.hits


def test_endless_redirects_are_cut(client, session, api_key, media_server, allow_loopback):
    media_server.routes["/loop"] = o311.Route(status=302, headers={"Location": "/loop"})
    refused(client, session, api_key, f"{media_server.base}/loop",
            "La photo de media_url n'a pas pu être téléchargée (plus de 3 redirections).")
    assert len(media_server.hits) == 4


def test_a_photo_over_the_size_limit_is_refused(client, session, api_key, media_server, allow_loopback, app):
    app.state.settings = allow_loopback.model_copy(update={"max_photo_bytes": 20_000})
    big = builders.jpeg(1600, 1200, colour=(10, 200, 30)) + b"\0" * 30_000
    media_server.routes["/declared.jpg"] = o311.Route(body=big)
    media_server.routes["/streamed.jpg"] = o311.Route(body=big, length=False, chunks=8)
    expected = "La photo de media_url dépasse la taille maximale de 20 Ko."

    refused(client, session, api_key, f"{media_server.base}/declared.jpg", expected)
    refused(client, session, api_key, f"{media_server.base}/streamed.jpg", expected)


@pytest.mark.parametrize("body", [b"<html><body>Ma photo</body></html>", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
                                  b"%PDF-1.7\n"])
def test_what_is_not_an_accepted_photo_is_refused(client, session, api_key, media_server, allow_loopback, body):
    media_server.routes["/p"] = o311.Route(body=body, headers={"Content-Type": "image/jpeg"})
    refused(client, session, api_key, f"{media_server.base}/p",
            "Le fichier de media_url n'est pas une photo dans un format accepté (JPEG, PNG, WebP ou HEIC).")


def test_a_slow_server_is_cut_off_at_the_deadline(client, session, api_key, media_server, allow_loopback, app):
    app.state.settings = allow_loopback.model_copy(update={"open311_media_timeout_s": 1.0})
    media_server.routes["/slow.jpg"] = o311.Route(body=PHOTO, chunks=6, delay_s=0.4)  # each read is quick enough
    refused(client, session, api_key, f"{media_server.base}/slow.jpg",
            "La photo de media_url a mis trop de temps à arriver : envoi abandonné.")


def test_an_error_status_is_refused(client, session, api_key, media_server, allow_loopback):
    refused(client, session, api_key, f"{media_server.base}/absente.jpg",
            "La photo de media_url n'a pas pu être téléchargée (le serveur a répondu 404).")


@pytest.mark.parametrize("url", ["ftp://photos.example/p.jpg", "file:///etc/passwd", "http://user:pw@example.org/p",
                                 "//example.org/p.jpg", "http://exa mple.org/p.jpg", "http://example.org:99999/p"])
def test_only_plain_http_and_https_urls(client, session, api_key, url):
    refused(client, session, api_key, url, "media_url doit être une adresse http:// ou https:// complète.")


def test_the_connection_goes_to_the_checked_address_with_the_host_name(client, session, api_key, media_server, app,
                                                                         settings, monkeypatch):
    """No DNS rebinding: the name is resolved once, and the request goes to that very address."""
    app.state.settings = settings.model_copy(update={"open311_media_allowed_hosts": ["photos.example"]})
    port = int(media_server.base.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    lookups = []

    def resolve(host, *args, **kwargs):
        if host != "photos.example":
            return real(host, *args, **kwargs)
        lookups.append(host)
        if len(lookups) > 1:  # a rebinding DNS would now answer another address
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.9.9", port))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    media_server.routes["/p.jpg"] = o311.Route(body=PHOTO)

    response = o311.post(client, o311.fields(session, api_key, media_url=f"http://photos.example:{port}/p.jpg"))

    assert response.status_code == 200, response.text
    assert lookups == ["photos.example"]
    assert media_server.hits == ["/p.jpg"]
    assert media_server.host_headers == [f"photos.example:{port}"]


def test_a_name_with_one_private_address_among_public_ones_is_refused(client, session, api_key, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 80)),
    ])
    refused(client, session, api_key, "http://photos.example/p.jpg", PRIVATE)


def test_an_unknown_host_is_refused(client, session, api_key, monkeypatch):
    def unknown(*args, **kwargs):
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    refused(client, session, api_key, "http://nulle-part.example/p.jpg",
            "La photo de media_url n'a pas pu être téléchargée (nom de serveur inconnu).")


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("240.0.0.1", False), ("255.255.255.255", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("ff02::1", False), ("::", False),
])
def test_which_addresses_are_public(address, public):
    assert media.is_public(address) is public


def test_several_media_urls_give_several_photos_in_order(client, session, api_key, media_server, allow_loopback):
    media_server.routes["/a.jpg"] = o311.Route(body=builders.jpeg(640, 480))
    media_server.routes["/b.jpg"] = o311.Route(body=builders.jpeg(320, 240))
    form = list(o311.fields(session, api_key).items()) + [
        ("media_url", f"{media_server.base}/a.jpg"), ("media_url", f"{media_server.base}/b.jpg")]

    response = o311.post(client, form)

    assert response.status_code == 200, response.text
    report = session.scalars(select(Report).where(Report.reference == response.json()[0]["service_request_id"])).one()
    assert [(p.width, p.height) for p in report.photos] == [(640, 480), (320, 240)]
    assert media_server.hits == ["/a.jpg", "/b.jpg"]


def test_one_bad_media_url_among_several_refuses_the_request_and_writes_nothing(client, session, api_key,
                                                                              media_server, allow_loopback):
    media_server.routes["/a.jpg"] = o311.Route(body=builders.jpeg(640, 480))
    before = (count(session), count(session, ReportPhoto))
    form = list(o311.fields(session, api_key).items()) + [
        ("media_url", f"{media_server.base}/a.jpg"), ("media_url", f"{media_server.base}/absente.jpg")]

    response = o311.post(client, form)

    assert response.status_code == 400
    assert (count(session), count(session, ReportPhoto)) == before


def test_a_photo_waiting_too_long_for_the_decode_budget_is_503_with_retry_after(client, session, api_key,
                                                                                   media_server, allow_loopback, app):
    """The decode bound of issue 10 holds on this path too; a 503 tells the client to send it again later."""
    app.state.settings = allow_loopback.model_copy(update={"decode_memory_mb": 96, "decode_wait_s": 0.2})
    shared = budget.shared(96 * budget.MIB)
    assert shared.acquire(shared.capacity, timeout=0)
    try:
        media_server.routes["/p.jpg"] = o311.Route(body=PHOTO, headers={"Content-Type": "image/jpeg"})
        before = count(session)
        response = o311.post(client, o311.fields(session, api_key, media_url=f"{media_server.base}/p.jpg"))
    finally:
        shared.release(shared.capacity)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(budget.RETRY_AFTER_S)
    assert o311.json_errors(response) == [
        (503, "Le serveur traite beaucoup de photos en ce moment : réessayez dans quelques secondes.")]
    assert count(session) == before
