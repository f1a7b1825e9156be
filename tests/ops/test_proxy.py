"""The production front: deploy/'s nginx site, rendered by `gusp deploy`, before a real `gusp serve`.

Checked from outside as a phone would see it: HTTP goes to HTTPS, the session cookie is Secure,
the app sees the client's own address (not nginx's, not a forged header), answers are compressed,
an oversized upload is refused in the app's JSON, and /metrics is not reachable from outside.
"""

from __future__ import annotations

import gzip
import json
import ssl
import uuid
from pathlib import Path

import brotli
import httpx
import pytest
from sqlalchemy.engine import make_url

from gusp import db
from gusp.ops import deploy
from tests import builders, smtp
from tests.conftest import prepare
from tests.ops import live

HOST = "gusp.test"
PASSWORD = "mot de passe de test assez long"  # tests.builders' staff password


@pytest.fixture(scope="module")
def proxied(base_settings, tmp_path_factory):
    directory = tmp_path_factory.mktemp("proxy")
    url = make_url(base_settings.database_url).set(database=f"gusp_proxy_{uuid.uuid4().hex[:10]}")
    https_port, http_port = smtp.free_port(), smtp.free_port()
    settings = base_settings.model_copy(update={
        "database_url": url.render_as_string(hide_password=False), "media_dir": directory / "media",
        "public_url": f"https://{HOST}:{https_port}",
    })
    prepare(settings)
    with db.command_session(settings.database_url) as session:
        user, _ = builders.staff(session, "coordinateur", name="coordinatrice-proxy")
        email = user.email
    certificate, key = deploy.self_signed_certificate(directory / "tls", HOST)
    log = directory / "gusp.log"
    env = live.settings_env(settings, GUSP_LOG_FORMAT="json")
    try:
        with live.gusp_serve(env, log=log, workers=2) as app_port:
            site = deploy.nginx_site(deploy.Site(
                server_name=HOST, certificate=certificate, certificate_key=key, backends=[f"127.0.0.1:{app_port}"],
                http_port=http_port, https_port=https_port, listen_address="127.0.0.1:",
            ), settings)
            with live.nginx(live.nginx_main_config(directory, site), ports=[http_port, https_port]):
                yield {"https": f"https://127.0.0.1:{https_port}", "http": f"http://127.0.0.1:{http_port}",
                       "direct": f"http://127.0.0.1:{app_port}", "certificate": str(certificate),
                       "email": email, "log": log, "settings": settings}
    finally:
        db.drop_database(settings.database_url)


def client(proxied, *, source: str = "127.0.0.2") -> httpx.Client:
    """A client on another loopback address than nginx's, trusting the self-signed certificate."""
    transport = httpx.HTTPTransport(local_address=source, verify=ssl.create_default_context(cafile=proxied["certificate"]))
    return httpx.Client(transport=transport, headers={"Host": HOST}, timeout=20)


def access_lines(log: Path, path: str) -> list[dict]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "gusp.access" and line.get("path") == path]


def test_plain_http_is_sent_to_https(proxied):
    with client(proxied) as http:
        response = http.get(f"{proxied['http']}/suivi/GUSP-2026-000001?x=1")

    assert response.status_code == 301
    assert response.headers["location"] == f"https://{HOST}:{proxied['https'].rsplit(':', 1)[1]}/suivi/GUSP-2026-000001?x=1"


def test_the_session_cookie_is_secure_behind_tls_and_the_client_address_is_the_phone_s(proxied):
    with client(proxied) as https:
        response = https.post(f"{proxied['https']}/api/v1/auth/login",
                              json={"email": proxied["email"], "password": PASSWORD},
                              headers={"X-Forwarded-For": "203.0.113.66"})  # forged: nginx replaces it
        me = https.get(f"{proxied['https']}/api/v1/auth/me")

    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "gusp_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert me.status_code == 200
    [line] = access_lines(proxied["log"], "/api/v1/auth/login")
    assert line["client"] == "127.0.0.2"  # not nginx's 127.0.0.1, not the forged 203.0.113.66
    assert line["request_id"] == response.headers["x-request-id"]  # nginx's $request_id, carried through


def test_a_direct_plain_connection_gets_no_secure_cookie(proxied):
    with httpx.Client(timeout=20) as direct:
        response = direct.post(f"{proxied['direct']}/api/v1/auth/login",
                               json={"email": proxied["email"], "password": PASSWORD})

    assert response.status_code == 200
    assert "Secure" not in response.headers["set-cookie"]


def test_json_is_compressed_and_an_oversized_upload_is_refused_in_json(proxied):
    limit = proxied["settings"].max_request_bytes
    with client(proxied) as https:
        quartiers = https.get(f"{proxied['https']}/api/v1/quartiers", headers={"Accept-Encoding": "gzip"})
        too_big = https.post(f"{proxied['https']}/api/v1/reports", content=b"x" * (limit + 1),
                             headers={"Content-Type": "multipart/form-data; boundary=x"})

    assert quartiers.status_code == 200 and quartiers.headers["content-encoding"] == "gzip"
    assert len(quartiers.json()["features"]) == 5
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "requete_trop_lourde"


@pytest.mark.parametrize(("encoding", "decode"), [("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_answers_are_compressed_once_by_the_app_not_again_by_nginx(proxied, encoding, decode):
    with client(proxied) as https, https.stream("GET", f"{proxied['https']}/api/v1/quartiers",
                                                headers={"Accept-Encoding": encoding}) as response:
        raw = b"".join(response.iter_raw())

    assert response.headers["content-encoding"] == encoding
    assert "accept-encoding" in response.headers["vary"].lower()
    assert len(json.loads(decode(raw))["features"]) == 5  # one decoding gives the JSON


def test_metrics_are_not_served_to_the_internet(proxied):
    with client(proxied) as https:
        through_proxy = https.get(f"{proxied['https']}/metrics")
    with httpx.Client(timeout=20) as local:
        on_the_machine = local.get(f"{proxied['direct']}/metrics")

    assert through_proxy.status_code == 404
    assert on_the_machine.status_code == 200
    assert "gusp_http_request_duration_seconds_count" in on_the_machine.text
