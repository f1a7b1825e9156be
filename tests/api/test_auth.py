"""Sign-in over HTTP: cookie flags, throttling, timeouts, CSRF, API tokens, password reset."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gusp import accounts, credentials, notify
from gusp.api import auth_deps
from gusp.models import ApiToken, LoginFailure, OutboxMessage, PasswordReset, Report, User, UserSession
from tests import builders

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

PASSWORD = "correct horse battery"
EMAIL = "agent@ville.example.fr"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The real app with three routes using the auth dependencies."""

    @app.post("/test-auth/write", dependencies=[Depends(auth_deps.csrf_protected)])
    def write(user: auth_deps.CurrentUser) -> dict:
        return {"email": user.email}

    @app.get("/test-auth/admin")
    def admin_only(user=Depends(auth_deps.require_roles("admin", "coordinateur"))) -> dict:  # noqa: B008
        return {"email": user.email}

    @app.api_route("/test-auth/maybe", methods=["GET", "POST"])
    def maybe(user: auth_deps.OptionalUser) -> dict:
        return {"email": user.email if user else None}

    return app


@pytest.fixture
def user(session) -> User:
    return accounts.create_user(session=session, email=EMAIL, full_name="Camille Martin", password=PASSWORD,
                                role="agent")


def other_client(app: FastAPI, ip: str, **kwargs) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(ip, 50000), **kwargs)


def sign_in(client: TestClient, email: str = EMAIL, password: str = PASSWORD):
    return client.post(LOGIN, json={"email": email, "password": password})


def set_cookie(response) -> SimpleCookie:
    cookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def find_session(session, cookie_value: str) -> UserSession:
    return session.get(UserSession, hashlib.sha256(cookie_value.encode()).hexdigest())


# --- login -------------------------------------------------------------------------------------


def test_login_sets_a_strict_session_cookie(client, user, session):
    response = sign_in(client)
    assert response.status_code == 200, response.text
    morsel = set_cookie(response)[auth_deps.SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # plain http in tests
    assert response.headers["cache-control"] == "no-store"

    body = response.json()
    assert body["user"]["email"] == EMAIL and body["user"]["role"] == "agent"
    assert "password_hash" not in body["user"]
    session_row = find_session(session, morsel.value)
    assert body["csrf_token"] == session_row.csrf_token
    assert user.last_login_at is not None


def test_cookie_is_secure_over_https(app, user):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        morsel = set_cookie(sign_in(client))[auth_deps.SESSION_COOKIE]
        assert morsel["secure"] is True
        assert client.get("/api/v1/auth/me").status_code == 200


def test_session_id_changes_at_each_login_and_the_old_one_dies(client, user):
    first = set_cookie(sign_in(client))[auth_deps.SESSION_COOKIE].value
    second = set_cookie(sign_in(client))[auth_deps.SESSION_COOKIE].value
    assert first != second
    assert client.get("/api/v1/auth/me").status_code == 200
    client.cookies.clear()
    client.cookies.set(auth_deps.SESSION_COOKIE, first)
    assert_error(client.get("/api/v1/auth/me"), 401, "non_authentifie")


def test_login_accepts_json_only(client, user):
    """A cross-site form posts urlencoded or multipart: refused, no cookie set (no login CSRF)."""
    response = client.post(LOGIN, data={"email": EMAIL, "password": PASSWORD})
    assert_error(response, 415, "json_requis")
    assert "set-cookie" not in response.headers
    response = client.post(LOGIN, content=f'{{"email": "{EMAIL}", "password": "{PASSWORD}"}}',
                           headers={"content-type": "text/plain"})
    assert_error(response, 415, "json_requis")


def test_wrong_password_and_unknown_address_answer_the_same(client, user, session):
    wrong = sign_in(client, password="mauvais mot de passe")
    unknown = sign_in(client, email="inconnu@ville.example.fr")
    assert_error(wrong, 401, "identifiants_invalides")
    assert wrong.json() == unknown.json()
    assert wrong.json()["message"] == "Adresse e-mail ou mot de passe incorrect."
    assert "set-cookie" not in wrong.headers
    # committed although the request failed: throttling depends on it
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 2


def test_throttling_per_account_and_address(app, user, settings):
    guesser = other_client(app, "10.0.0.1")
    for _ in range(settings.login_max_failures):
        assert sign_in(guesser, password="mauvais mot de passe").status_code == 401
    response = sign_in(guesser)
    body = assert_error(response, 429, "trop_de_tentatives")
    assert body["message"].startswith("Trop de tentatives de connexion. Réessayez dans")
    assert 0 < int(response.headers["retry-after"]) == body["retry_after"]
    assert sign_in(other_client(app, "10.0.1.1")).status_code == 200  # the owner elsewhere is not paused


def test_the_owner_s_browser_passes_an_account_under_attack(app, user, settings):
    """Issue 10, point 4: the device cookie of a past sign-in gets through the per-account pause."""
    owner = other_client(app, "203.0.113.5")
    assert sign_in(owner).status_code == 200
    assert owner.cookies.get("gusp_appareil")
    for n in range(settings.login_max_failures_per_account):
        assert sign_in(other_client(app, f"198.51.100.{n}"), password="mauvais mot de passe").status_code == 401
    assert_error(sign_in(other_client(app, "192.0.2.99")), 429, "trop_de_tentatives")
    travelling = other_client(app, "192.0.2.100")  # the owner's browser from a new address
    travelling.cookies.set("gusp_appareil", owner.cookies.get("gusp_appareil"))
    assert sign_in(travelling).status_code == 200


def test_throttling_per_ip(app, user, settings):
    attacker = other_client(app, "192.0.2.66")
    for n in range(settings.login_max_failures_per_ip):
        assert sign_in(attacker, email=f"essai{n}@ville.example.fr").status_code == 401
    assert_error(sign_in(attacker), 429, "trop_de_tentatives")
    assert sign_in(other_client(app, "192.0.2.67")).status_code == 200


def test_inactive_user_is_refused(client, user, session):
    assert sign_in(client).status_code == 200
    value, _ = credentials.create_api_token(session=session, user=user, name="robot")
    user.active = False
    session.flush()
    assert_error(client.get("/api/v1/auth/me"), 401, "non_authentifie")
    assert_error(sign_in(client), 401, "identifiants_invalides")
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {value}"}
    assert_error(client.get("/api/v1/auth/me", headers=bearer), 401, "non_authentifie")


# --- session life ------------------------------------------------------------------------------


def test_me_needs_a_session(client):
    body = assert_error(client.get("/api/v1/auth/me"), 401, "non_authentifie")
    assert body["message"] == "Vous devez vous connecter."


def test_me_returns_the_user_and_csrf_token(client, user):
    csrf = sign_in(client).json()["csrf_token"]
    body = client.get("/api/v1/auth/me").json()
    assert body["user"]["id"] == user.id and body["csrf_token"] == csrf


def test_session_state_answers_200_signed_in_or_not(client, user, session):
    """The sign-in page asks without a 401 (which the browser would log as an error on every visit)."""
    anonymous = client.get("/api/v1/auth/session")
    assert anonymous.status_code == 200 and anonymous.json() == {"authenticated": False, "user": None, "csrf_token": None}
    assert anonymous.headers["cache-control"] == "no-store"

    value = set_cookie(sign_in(client))[auth_deps.SESSION_COOKIE].value
    body = client.get("/api/v1/auth/session").json()
    assert body["authenticated"] is True and body["user"]["id"] == user.id
    assert body["csrf_token"] == find_session(session, value).csrf_token

    find_session(session, value).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    assert client.get("/api/v1/auth/session").json()["authenticated"] is False


def test_idle_session_is_refused(client, user, session, settings):
    value = set_cookie(sign_in(client))[auth_deps.SESSION_COOKIE].value
    row = find_session(session, value)
    row.last_seen_at -= timedelta(minutes=settings.session_idle_minutes - 1)
    session.flush()
    assert client.get("/api/v1/auth/me").status_code == 200  # still alive, and touched
    row.last_seen_at -= timedelta(minutes=settings.session_idle_minutes)
    session.flush()
    assert_error(client.get("/api/v1/auth/me"), 401, "non_authentifie")


def test_session_past_its_absolute_expiry_is_refused(client, user, session):
    value = set_cookie(sign_in(client))[auth_deps.SESSION_COOKIE].value
    find_session(session, value).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    assert_error(client.get("/api/v1/auth/me"), 401, "non_authentifie")


def test_logout_needs_csrf_and_invalidates_the_session(client, user, session):
    response = sign_in(client)
    value = set_cookie(response)[auth_deps.SESSION_COOKIE].value
    assert_error(client.post("/api/v1/auth/logout"), 403, "csrf_invalide")
    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": response.json()["csrf_token"]})
    assert response.status_code == 204
    assert set_cookie(response)[auth_deps.SESSION_COOKIE].value == ""
    assert find_session(session, value) is None
    client.cookies.clear()
    client.cookies.set(auth_deps.SESSION_COOKIE, value)
    assert_error(client.get("/api/v1/auth/me"), 401, "non_authentifie")
    assert client.post("/api/v1/auth/logout").status_code == 204  # signed out already: nothing to do


# --- CSRF and bearer tokens --------------------------------------------------------------------


def test_cookie_writes_need_the_csrf_token(client, user):
    csrf = sign_in(client).json()["csrf_token"]
    assert_error(client.post("/test-auth/write"), 403, "csrf_invalide")
    body = assert_error(client.post("/test-auth/write", headers={"X-CSRF-Token": csrf[:-1] + "x"}), 403,
                        "csrf_invalide")
    assert "CSRF" in body["message"]
    assert_error(client.post("/test-auth/write", headers={"X-CSRF-Token": "é".encode("latin-1")}), 403, "csrf_invalide")
    response = client.post("/test-auth/write", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200 and response.json() == {"email": EMAIL}


def test_csrf_is_enforced_even_on_a_route_that_forgets_it(client, user):
    sign_in(client)
    assert_error(client.post("/api/v1/auth/tokens", json={"name": "robot"}), 403, "csrf_invalide")
    assert client.get("/test-auth/maybe").json() == {"email": EMAIL}  # reads need no token


def test_optional_user_write_without_csrf_is_anonymous(client, user):
    """A cross-site form must not act as the signed-in user where anonymous callers are welcome."""
    csrf = sign_in(client).json()["csrf_token"]
    assert client.post("/test-auth/maybe").json() == {"email": None}
    assert client.post("/test-auth/maybe", headers={"X-CSRF-Token": "faux"}).json() == {"email": None}
    assert client.post("/test-auth/maybe", headers={"X-CSRF-Token": csrf}).json() == {"email": EMAIL}


def test_public_report_form_files_as_the_agent_only_with_the_csrf_token(client, user, session):
    csrf = sign_in(client).json()["csrf_token"]
    anonymous = client.post("/api/v1/reports", data=builders.form(session, source="web"))
    assert anonymous.status_code == 201, anonymous.text
    signed = client.post("/api/v1/reports", data=builders.form(session), headers={"X-CSRF-Token": csrf})
    assert signed.status_code == 201, signed.text
    authors = dict(session.execute(select(Report.reference, Report.created_by_user_id)).all())
    assert authors[anonymous.json()["reference"]] is None
    assert authors[signed.json()["reference"]] == user.id


def test_bearer_token_writes_without_csrf(client, user, session):
    value, _ = credentials.create_api_token(session=session, user=user, name="robot")
    _, spare = credentials.create_api_token(session=session, user=user, name="autre")
    bearer = {"Authorization": f"Bearer {value}"}
    assert client.post("/test-auth/write", headers=bearer).json() == {"email": EMAIL}
    assert client.delete(f"/api/v1/auth/tokens/{spare.id}", headers=bearer).status_code == 204
    body = client.get("/api/v1/auth/me", headers=bearer).json()
    assert body["user"]["email"] == EMAIL and body["csrf_token"] is None


def test_invalid_bearer_is_refused_without_falling_back_to_the_cookie(client, user):
    sign_in(client)
    for header in ("Bearer gusp_" + "x" * 40, "Bearer ", "Basic YTpi"):
        assert_error(client.get("/api/v1/auth/me", headers={"Authorization": header}), 401, "non_authentifie")


def test_roles_are_checked(client, user, session):
    sign_in(client)
    body = assert_error(client.get("/test-auth/admin"), 403, "interdit")
    assert body["message"] == "Vous n'avez pas le droit de faire cela."
    accounts.create_user(session=session, email="coord@ville.example.fr", full_name="Coord", password=PASSWORD,
                         role="coordinateur")
    sign_in(client, email="coord@ville.example.fr")
    assert client.get("/test-auth/admin").json() == {"email": "coord@ville.example.fr"}


# --- API tokens --------------------------------------------------------------------------------


def test_tokens_are_shown_once_stored_hashed_and_revocable(client, user, session):
    csrf = {"X-CSRF-Token": sign_in(client).json()["csrf_token"]}
    created = client.post("/api/v1/auth/tokens", json={"name": "Import SIG"}, headers=csrf)
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    value = created.json()["token"]
    assert value.startswith("gusp_") and created.json()["prefix"] == value[:12]

    row = session.get(ApiToken, created.json()["id"])
    assert row.token_hash == hashlib.sha256(value.encode()).hexdigest()
    listed = client.get("/api/v1/auth/tokens").json()
    assert listed["count"] == 1 and "token" not in listed["data"][0]
    assert value not in client.get("/api/v1/auth/tokens").text

    bearer = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{row.id}", headers=csrf).status_code == 204
    assert_error(client.get("/api/v1/auth/me", headers=bearer), 401, "non_authentifie")
    assert client.get("/api/v1/auth/tokens").json()["data"][0]["revoked_at"] is not None


def test_tokens_expire(client, user, session, settings):
    csrf = {"X-CSRF-Token": sign_in(client).json()["csrf_token"]}
    short = client.post("/api/v1/auth/tokens", json={"name": "Essai", "days": 7}, headers=csrf).json()
    usual = client.post("/api/v1/auth/tokens", json={"name": "Import SIG"}, headers=csrf).json()
    created = datetime.fromisoformat(short["created_at"])
    assert datetime.fromisoformat(short["expires_at"]) - created == timedelta(days=7)
    assert datetime.fromisoformat(usual["expires_at"]) - datetime.fromisoformat(usual["created_at"]) == timedelta(
        days=settings.api_token_days)
    bearer = {"Authorization": f"Bearer {short['token']}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200

    session.get(ApiToken, short["id"]).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()

    assert_error(client.get("/api/v1/auth/me", headers=bearer), 401, "non_authentifie")
    too_long = client.post("/api/v1/auth/tokens", json={"name": "Éternel", "days": 100000}, headers=csrf)
    assert too_long.status_code == 422


def test_a_token_cannot_mint_tokens(client, user, session):
    value, _ = credentials.create_api_token(session=session, user=user, name="robot")
    response = client.post("/api/v1/auth/tokens", json={"name": "clone"}, headers={"Authorization": f"Bearer {value}"})
    assert_error(response, 403, "session_requise")


def test_someone_elses_token_is_not_found(client, user, session):
    other = accounts.create_user(session=session, email="autre@ville.example.fr", full_name="Autre",
                                 password=PASSWORD, role="agent")
    _, row = credentials.create_api_token(session=session, user=other, name="robot")
    csrf = {"X-CSRF-Token": sign_in(client).json()["csrf_token"]}
    assert_error(client.delete(f"/api/v1/auth/tokens/{row.id}", headers=csrf), 404, "jeton_introuvable")


# --- password reset ----------------------------------------------------------------------------


def mailed_token(session, settings) -> str:
    """The token of the last reset mail, as the worker makes it when sending."""
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "password_reset")
                              .order_by(OutboxMessage.id.desc())).first()
    text, _ = notify.final_bodies(session=session, settings=settings, message=message)
    session.commit()  # as the worker does: a failed request's rollback must not undo the sending
    link = re.search(r"(\S*)/reinitialiser#jeton=([\w-]+)", text)
    assert link.group(1) == settings.public_url.rstrip("/")
    return link.group(2)


def reset_mails(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "password_reset")))


def test_reset_answers_the_same_for_unknown_addresses(client, user, session):
    known = client.post("/api/v1/auth/password-reset", json={"email": EMAIL})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "inconnu@ville.example.fr"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.recipient for m in reset_mails(session)] == [EMAIL]


def test_reset_link_is_single_use_and_closes_sessions(client, user, session, settings):
    sign_in(client)
    client.post("/api/v1/auth/password-reset", json={"email": EMAIL})
    token = mailed_token(session, settings)

    confirm = {"token": token, "password": "un tout nouveau mot de passe"}
    short = client.post("/api/v1/auth/password-reset/confirm", json={**confirm, "password": "court"})
    assert_error(short, 422, "mot_de_passe_trop_court")
    assert client.post("/api/v1/auth/password-reset/confirm", json=confirm).status_code == 204
    assert_error(client.get("/api/v1/auth/me"), 401, "non_authentifie")
    assert_error(client.post("/api/v1/auth/password-reset/confirm", json=confirm), 400, "lien_invalide")
    assert_error(sign_in(client), 401, "identifiants_invalides")
    assert sign_in(client, password="un tout nouveau mot de passe").status_code == 200


def test_expired_reset_link_is_refused(client, user, session, settings):
    client.post("/api/v1/auth/password-reset", json={"email": EMAIL})
    token = mailed_token(session, settings)
    session.scalars(select(PasswordReset)).one().expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    response = client.post("/api/v1/auth/password-reset/confirm",
                           json={"token": token, "password": "un tout nouveau mot de passe"})
    body = assert_error(response, 400, "lien_invalide")
    assert "demandez-en un nouveau" in body["message"]


def test_reset_still_answers_202_when_the_mail_cannot_be_queued(client, user, session, monkeypatch):
    from gusp import notify

    def broken(**kwargs):
        raise RuntimeError("SMTP en panne")

    monkeypatch.setattr(notify, "password_reset", broken)
    response = client.post("/api/v1/auth/password-reset", json={"email": EMAIL})
    assert response.status_code == 202
    assert session.scalar(select(func.count()).select_from(PasswordReset)) == 0  # rolled back with the mail


def test_reset_queues_a_mail_without_a_usable_link(client, user, session):
    assert client.post("/api/v1/auth/password-reset", json={"email": EMAIL}).status_code == 202
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == EMAIL)).one()
    assert "jeton=" not in message.body_text and notify.RESET_LINK_PLACEHOLDER in message.body_text
