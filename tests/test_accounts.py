"""Accounts services: passwords, users, throttled sign-in, sessions, API tokens, reset links, CLI."""

from __future__ import annotations

import argparse
import hashlib
from datetime import UTC, datetime, timedelta

import argon2
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import accounts, cli_users, credentials, db, errors, known_clients
from gusp.config import Settings
from gusp.models import LoginFailure, Partner, PasswordReset, Quartier, User, UserSession

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

PASSWORD = "correct horse battery"


def make_user(session: Session, *, email: str = "agent@ville.example.fr", role: str = "agent", **kwargs) -> User:
    return accounts.create_user(
        session=session, email=email, full_name="Camille Martin", password=kwargs.pop("password", PASSWORD),
        role=role, **kwargs,
    )


def make_partner(session: Session, name: str = "Bailleur Test") -> Partner:
    partner = Partner(name=name, kind="bailleur")
    session.add(partner)
    session.flush()
    return partner


def login(session: Session, settings: Settings, *, email: str = "agent@ville.example.fr",
          password: str = PASSWORD, ip: str | None = "10.0.0.1") -> User:
    return accounts.authenticate(session=session, settings=settings, email=email, password=password, ip=ip)


def failures(session: Session, **match) -> int:
    query = select(func.count()).select_from(LoginFailure).filter_by(**match)
    return session.scalar(query)


# --- passwords ---------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2id():
    hashed = accounts.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert argon2.extract_parameters(hashed).memory_cost >= 19 * 1024
    assert accounts.verify_password(password_hash=hashed, password=PASSWORD)
    assert not accounts.verify_password(password_hash=hashed, password=PASSWORD + "!")
    assert accounts.hash_password(PASSWORD) != hashed  # salted


@pytest.mark.parametrize("length", [12, 64, 128, 1024])
def test_long_passwords_work(length):
    password = ("Ab1é-" * 300)[:length]
    assert accounts.verify_password(password_hash=accounts.hash_password(password), password=password)


def test_password_of_11_characters_is_refused():
    with pytest.raises(errors.Unprocessable) as refused:
        accounts.hash_password("a" * 11)
    assert refused.value.code == "mot_de_passe_trop_court"
    assert "12 caractères" in refused.value.message


def test_password_over_1024_characters_is_refused():
    with pytest.raises(errors.Unprocessable) as refused:
        accounts.hash_password("a" * 1025)
    assert refused.value.code == "mot_de_passe_trop_long"


def test_unicode_passwords_match_whatever_the_keyboard_composed():
    composed, decomposed = "mot de passe d\u00e9j\u00e0", "mot de passe de\u0301ja\u0300"
    assert accounts.verify_password(password_hash=accounts.hash_password(composed), password=decomposed)


def test_garbage_hash_does_not_verify():
    assert not accounts.verify_password(password_hash="not a hash", password=PASSWORD)


def test_dummy_hash_costs_what_a_real_one_does():
    """Unknown addresses are checked against it: its parameters must be the current ones."""
    assert not accounts._HASHER.check_needs_rehash(accounts._DUMMY_HASH)


def test_weaker_hash_is_upgraded_at_sign_in(session, settings):
    user = make_user(session)
    user.password_hash = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    session.flush()
    login(session, settings)
    assert not accounts._HASHER.check_needs_rehash(user.password_hash)
    assert accounts.verify_password(password_hash=user.password_hash, password=PASSWORD)


# --- users -------------------------------------------------------------------------------------


def test_create_user_normalises_the_address(session):
    user = make_user(session, email="  Camille.Martin@Ville.Example.FR ")
    assert user.email == "camille.martin@ville.example.fr"
    assert user.active and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_invalid_address_is_refused(session):
    with pytest.raises(errors.Unprocessable) as refused:
        make_user(session, email="pas-une-adresse")
    assert refused.value.code == "email_invalide"


def test_duplicate_address_is_a_conflict_whatever_the_case(session):
    make_user(session)
    with pytest.raises(errors.Conflict) as refused:
        make_user(session, email="AGENT@ville.example.fr")
    assert refused.value.code == "utilisateur_existant"
    assert refused.value.status == 409


def test_partner_accounts_need_a_partner_and_only_they_have_one(session):
    partner = make_partner(session)
    with pytest.raises(errors.Unprocessable) as missing:
        make_user(session, role="partenaire")
    assert missing.value.code == "partenaire_requis"
    with pytest.raises(errors.Unprocessable) as unexpected:
        make_user(session, role="coordinateur", partner_id=partner.id)
    assert unexpected.value.code == "partenaire_inattendu"
    with pytest.raises(errors.Unprocessable) as unknown:
        make_user(session, role="partenaire", partner_id=partner.id + 1000)
    assert unknown.value.code == "partenaire_inconnu"
    assert make_user(session, role="partenaire", partner_id=partner.id).partner_id == partner.id


def test_unknown_role_is_refused(session):
    with pytest.raises(errors.Unprocessable) as refused:
        make_user(session, role="maire")
    assert refused.value.code == "role_inconnu"


def test_group_member_reads_its_quartiers(session):
    ids = list(session.scalars(select(Quartier.id).order_by(Quartier.id).limit(2)))
    user = make_user(session, role="groupe", quartier_ids=ids)
    assert accounts.quartier_ids(session=session, user=user) == ids
    with pytest.raises(errors.Unprocessable) as refused:
        make_user(session, email="autre@ville.example.fr", role="groupe", quartier_ids=[-1])
    assert refused.value.code == "quartier_inconnu"


def test_short_password_refused_at_creation(session):
    with pytest.raises(errors.Unprocessable) as refused:
        make_user(session, password="court")
    assert refused.value.code == "mot_de_passe_trop_court"


# --- sign-in -----------------------------------------------------------------------------------


def test_sign_in_records_last_login(session, settings):
    user = make_user(session)
    assert user.last_login_at is None
    assert login(session, settings, email="Agent@Ville.Example.fr").id == user.id
    assert user.last_login_at is not None
    assert failures(session) == 0


def test_wrong_password_and_unknown_address_fail_alike(session, settings):
    make_user(session)
    with pytest.raises(errors.Unauthenticated) as wrong:
        login(session, settings, password="mauvais mot de passe")
    with pytest.raises(errors.Unauthenticated) as unknown:
        login(session, settings, email="inconnu@ville.example.fr")
    assert wrong.value.status == unknown.value.status == 401
    assert wrong.value.body() == unknown.value.body()
    assert wrong.value.code == "identifiants_invalides"
    assert failures(session, email="agent@ville.example.fr") == 1
    assert failures(session, email="inconnu@ville.example.fr") == 1


def test_unknown_address_still_costs_a_hash_check(session, settings, monkeypatch):
    checked = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda **kw: checked.append(kw["password_hash"]) or real(**kw))
    with pytest.raises(errors.Unauthenticated):
        login(session, settings, email="inconnu@ville.example.fr")
    assert checked == [accounts._DUMMY_HASH]


def test_inactive_user_cannot_sign_in(session, settings):
    user = make_user(session)
    user.active = False
    session.flush()
    with pytest.raises(errors.Unauthenticated) as refused:
        login(session, settings)
    assert refused.value.code == "identifiants_invalides"


def test_throttled_per_account_and_address_even_with_the_right_password(session, settings):
    make_user(session)
    for _ in range(settings.login_max_failures):
        with pytest.raises(errors.Unauthenticated):
            login(session, settings, password="mauvais mot de passe", ip="10.0.1.1")
    with pytest.raises(errors.TooManyRequests) as throttled:
        login(session, settings, ip="10.0.1.1")
    assert throttled.value.status == 429
    assert throttled.value.code == "trop_de_tentatives"
    assert "Réessayez dans 15 minutes" in throttled.value.message
    assert 0 < throttled.value.details["retry_after"] <= 15 * 60
    assert failures(session) == settings.login_max_failures  # refused attempts do not extend the pause
    # Another address is not paused by these failures.
    assert login(session, settings, ip="10.0.2.1").email == "agent@ville.example.fr"

    for row in session.scalars(select(LoginFailure)):
        row.at -= timedelta(minutes=settings.login_failure_window_minutes)
    session.flush()
    assert login(session, settings, ip="10.0.1.1").email == "agent@ville.example.fr"


def test_strangers_cannot_keep_the_owner_out(session, settings):
    """Issue 10, point 4: wrong passwords from many addresses pause the account for unknown clients
    only; the owner's known device or address, or a reset link, still gets in."""
    user = make_user(session)
    now = datetime.now(UTC)
    device = known_clients.remember(session=session, user=user, ip="203.0.113.9", device=None, now=now)
    for n in range(settings.login_max_failures_per_account):
        with pytest.raises(errors.Unauthenticated):
            login(session, settings, password="mauvais mot de passe", ip=f"198.51.100.{n % 250}")
    with pytest.raises(errors.TooManyRequests):
        login(session, settings, ip="192.0.2.200")  # an address never seen, right password: paused
    owner = accounts.authenticate(session=session, settings=settings, email="agent@ville.example.fr",
                                  password=PASSWORD, ip="192.0.2.201", device=device)  # the owner's browser
    assert owner == user
    assert login(session, settings, ip="203.0.113.9") == user  # the owner's usual address

    reset = credentials.request_password_reset(session=session, settings=settings, email="agent@ville.example.fr")
    token, _ = credentials.issue_reset_token(session=session, reset_hash=reset.token_hash)
    credentials.reset_password(session=session, settings=settings, token=token, new_password="un mot de passe neuf")
    assert login(session, settings, password="un mot de passe neuf", ip="192.0.2.200") == user


def test_throttled_per_ip_across_addresses(session, settings):
    make_user(session)
    assert settings.login_max_failures_per_ip > settings.login_max_failures  # a shared office IP
    for n in range(settings.login_max_failures_per_ip):
        with pytest.raises(errors.Unauthenticated):
            login(session, settings, email=f"essai{n}@ville.example.fr", ip="192.0.2.7")
    with pytest.raises(errors.TooManyRequests):
        login(session, settings, ip="192.0.2.7")
    assert login(session, settings, ip="192.0.2.8").email == "agent@ville.example.fr"


def test_retry_time_follows_the_oldest_blocking_failure(session, settings):
    now = datetime.now(UTC)
    for minutes_ago in (14, 13, 3, 2, 1, 0):
        session.add(LoginFailure(email="x@ville.example.fr", ip=None, at=now - timedelta(minutes=minutes_ago)))
    session.flush()
    with pytest.raises(errors.TooManyRequests) as throttled:
        login(session, settings, email="x@ville.example.fr", ip=None)
    # six failures, five allowed: the second oldest (13 min ago) must age out — in about 2 minutes.
    assert 60 < throttled.value.details["retry_after"] <= 120


# --- sessions ----------------------------------------------------------------------------------


def test_each_session_gets_a_new_random_id_stored_hashed(session, settings):
    user = make_user(session)
    first, row = accounts.open_session(session=session, settings=settings, user=user)
    second, _ = accounts.open_session(session=session, settings=settings, user=user)
    assert first != second and len(first) >= 43
    assert row.id_hash == hashlib.sha256(first.encode()).hexdigest()
    assert session.scalar(select(func.count()).select_from(UserSession).where(UserSession.id_hash == first)) == 0
    assert row.csrf_token and row.csrf_token != first
    assert row.expires_at - row.created_at == timedelta(hours=settings.session_absolute_hours)
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=first) == (user, row)


def test_unknown_cookie_resolves_to_nothing(session, settings):
    assert accounts.resolve_session(session=session, settings=settings, cookie_value="inconnu") is None
    assert accounts.resolve_session(session=session, settings=settings, cookie_value="x" * 5000) is None


def test_idle_session_ends(session, settings):
    user = make_user(session)
    value, row = accounts.open_session(session=session, settings=settings, user=user)
    row.last_seen_at -= timedelta(minutes=settings.session_idle_minutes - 2)
    session.flush()
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=value) is not None
    assert datetime.now(UTC) - row.last_seen_at < timedelta(seconds=5)  # touched
    row.last_seen_at -= timedelta(minutes=settings.session_idle_minutes)
    session.flush()
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=value) is None
    assert session.get(UserSession, row.id_hash) is None  # deleted on sight


def test_recent_activity_is_written_at_most_once_a_minute(session, settings):
    user = make_user(session)
    value, row = accounts.open_session(session=session, settings=settings, user=user)
    seen = row.last_seen_at = row.last_seen_at - timedelta(seconds=30)
    session.flush()
    accounts.resolve_session(session=session, settings=settings, cookie_value=value)
    assert row.last_seen_at == seen


def test_session_ends_at_its_absolute_expiry_even_when_used(session, settings):
    user = make_user(session)
    value, row = accounts.open_session(session=session, settings=settings, user=user)
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=value) is None


def test_deactivated_user_loses_its_sessions(session, settings):
    user = make_user(session)
    value, _ = accounts.open_session(session=session, settings=settings, user=user)
    user.active = False
    session.flush()
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=value) is None


def test_closed_session_no_longer_resolves(session, settings):
    user = make_user(session)
    value, _ = accounts.open_session(session=session, settings=settings, user=user)
    other, _ = accounts.open_session(session=session, settings=settings, user=user)
    accounts.close_session(session=session, cookie_value=value)
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=value) is None
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=other) is not None


# --- API tokens --------------------------------------------------------------------------------


def test_api_token_is_shown_once_and_stored_hashed(session):
    user = make_user(session)
    value, row = credentials.create_api_token(session=session, user=user, name="  Import   SIG ")
    assert value.startswith("gusp_") and len(value) == 45 and value[5:].isalnum()
    assert row.name == "Import SIG"
    assert row.prefix == value[:12]
    assert row.token_hash == hashlib.sha256(value.encode()).hexdigest()
    assert value not in {row.token_hash, row.prefix}
    assert credentials.resolve_api_token(session=session, value=value) == (user, row)
    assert row.last_used_at is not None


def test_revoked_or_malformed_tokens_are_refused(session):
    user = make_user(session)
    value, row = credentials.create_api_token(session=session, user=user, name="robot")
    assert credentials.revoke_api_token(session=session, user=user, token_id=row.id).revoked_at is not None
    assert credentials.resolve_api_token(session=session, value=value) is None
    assert credentials.resolve_api_token(session=session, value="gusp_" + "a" * 40) is None
    assert credentials.resolve_api_token(session=session, value="autre chose") is None


def test_tokens_of_deactivated_users_are_refused(session):
    user = make_user(session)
    value, _ = credentials.create_api_token(session=session, user=user, name="robot")
    user.active = False
    session.flush()
    assert credentials.resolve_api_token(session=session, value=value) is None


def test_only_ones_own_token_can_be_revoked(session):
    owner = make_user(session)
    other = make_user(session, email="autre@ville.example.fr")
    _, row = credentials.create_api_token(session=session, user=owner, name="robot")
    with pytest.raises(errors.NotFound) as refused:
        credentials.revoke_api_token(session=session, user=other, token_id=row.id)
    assert refused.value.code == "jeton_introuvable"
    assert row.revoked_at is None
    assert [t.id for t in credentials.list_api_tokens(session=session, user=owner)] == [row.id]
    assert credentials.list_api_tokens(session=session, user=other) == []


def test_token_needs_a_name(session):
    with pytest.raises(errors.Unprocessable) as refused:
        credentials.create_api_token(session=session, user=make_user(session), name="   ")
    assert refused.value.code == "nom_invalide"


# --- password reset ----------------------------------------------------------------------------


def mailed_token(session, settings, email="agent@ville.example.fr"):
    """The token of the link as the worker mails it: made at sending time, not at the request."""
    reset_row = credentials.request_password_reset(session=session, settings=settings, email=email)
    return credentials.issue_reset_token(session=session, reset_hash=reset_row.token_hash)[0]


def reset(session, settings, token, password="un tout nouveau mot de passe"):
    return credentials.reset_password(session=session, settings=settings, token=token, new_password=password)


def test_reset_link_works_once_and_closes_sessions(session, settings):
    user = make_user(session)
    cookie, _ = accounts.open_session(session=session, settings=settings, user=user)
    token = mailed_token(session, settings, "AGENT@ville.example.fr")
    stored = session.scalars(select(PasswordReset)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.expires_at - stored.created_at == timedelta(minutes=settings.password_reset_minutes)

    assert reset(session, settings, token) == user
    assert login(session, settings, password="un tout nouveau mot de passe") == user
    assert accounts.resolve_session(session=session, settings=settings, cookie_value=cookie) is None
    with pytest.raises(errors.BadRequest) as reused:
        reset(session, settings, token, "encore un autre mot de passe")
    assert reused.value.code == "lien_invalide"


def test_expired_reset_link_is_refused(session, settings):
    make_user(session)
    token = mailed_token(session, settings)
    session.scalars(select(PasswordReset)).one().expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    with pytest.raises(errors.BadRequest) as refused:
        reset(session, settings, token)
    assert refused.value.code == "lien_invalide"
    with pytest.raises(errors.BadRequest):
        reset(session, settings, "pas-un-jeton")


def test_refused_new_password_keeps_the_link_usable(session, settings):
    make_user(session)
    token = mailed_token(session, settings)
    with pytest.raises(errors.Unprocessable) as refused:
        reset(session, settings, token, "court")
    assert refused.value.code == "mot_de_passe_trop_court"
    reset(session, settings, token)


def test_reset_for_unknown_or_inactive_address_gives_nothing(session, settings):
    assert credentials.request_password_reset(session=session, settings=settings, email="inconnu@ville.example.fr") is None
    make_user(session).active = False
    session.flush()
    assert credentials.request_password_reset(session=session, settings=settings, email="agent@ville.example.fr") is None


def test_new_reset_link_supersedes_the_old_and_requests_are_limited(session, settings):
    make_user(session)
    rows = [
        credentials.request_password_reset(session=session, settings=settings, email="agent@ville.example.fr")
        for _ in range(accounts.RESETS_PER_WINDOW + 1)
    ]
    assert None not in rows[:-1] and rows[-1] is None
    assert credentials.issue_reset_token(session=session, reset_hash=rows[0].token_hash) is None  # superseded
    token, _ = credentials.issue_reset_token(session=session, reset_hash=rows[-2].token_hash)
    reset(session, settings, token)


def test_purge_deletes_what_no_longer_counts(session, settings):
    user = make_user(session)
    _, live = accounts.open_session(session=session, settings=settings, user=user)
    _, dead = accounts.open_session(session=session, settings=settings, user=user)
    dead.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    old = datetime.now(UTC) - timedelta(days=1)
    session.add_all([LoginFailure(email="x@y.fr", at=old), LoginFailure(email="x@y.fr")])
    session.flush()
    assert accounts.purge_expired(session=session, settings=settings) == 2
    assert session.scalars(select(UserSession.id_hash)).all() == [live.id_hash]
    assert failures(session) == 1


# --- CLI ---------------------------------------------------------------------------------------


def cli_args(**overrides) -> argparse.Namespace:
    values = {"email": "Admin@Ville.Example.fr", "name": "Alex Admin", "role": "admin", "partner_id": None,
              "quartier_ids": [], "quartier_codes": []}
    return argparse.Namespace(**{**values, **overrides})


def test_cli_creates_a_user_from_the_environment(committed_settings, monkeypatch, capsys):
    monkeypatch.setenv(cli_users.PASSWORD_ENV, PASSWORD)
    assert cli_users.create_user_command(cli_args(), committed_settings) == 0
    assert "Compte créé : admin@ville.example.fr (admin)" in capsys.readouterr().out
    assert cli_users.create_user_command(cli_args(), committed_settings) == 2
    assert "utilisateur_existant" in capsys.readouterr().err

    engine = db.make_engine(committed_settings.database_url)
    try:
        with db.make_sessionmaker(engine)() as session:
            user = session.scalars(select(User)).one()
            assert accounts.verify_password(password_hash=user.password_hash, password=PASSWORD)
    finally:
        engine.dispose()


def test_cli_prompts_twice_and_refuses_a_mismatch(committed_settings, monkeypatch, capsys):
    monkeypatch.delenv(cli_users.PASSWORD_ENV, raising=False)
    answers = iter(["un mot de passe long", "un autre mot de passe"])
    monkeypatch.setattr(cli_users.getpass, "getpass", lambda prompt: next(answers))
    assert cli_users.create_user_command(cli_args(), committed_settings) == 1
    assert "diffèrent" in capsys.readouterr().err

    answers = iter(["court", "court"])
    assert cli_users.create_user_command(cli_args(), committed_settings) == 2
    assert "mot_de_passe_trop_court" in capsys.readouterr().err


def test_cli_parser_registers_users_create():
    root = argparse.ArgumentParser()
    cli_users.add_commands(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["users", "create", "--email", "a@b.fr", "--name", "A", "--role", "groupe",
                            "--quartier-id", "3", "--quartier-id", "4"])
    assert args.run is cli_users.create_user_command
    assert (args.role, args.partner_id, args.quartier_ids) == ("groupe", None, [3, 4])
    assert root.parse_args(["users", "purge"]).run is cli_users.purge_command


def test_cli_lists_deactivates_and_changes_roles(committed_settings, monkeypatch, capsys):
    monkeypatch.setenv(cli_users.PASSWORD_ENV, PASSWORD)
    assert cli_users.create_user_command(cli_args(), committed_settings) == 0
    assert cli_users.create_user_command(cli_args(email="agent@ville.example.fr", role="agent"), committed_settings) == 0
    root = argparse.ArgumentParser()
    cli_users.add_commands(root.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> int:
        args = root.parse_args(["users", *argv])
        return args.run(args, committed_settings)

    capsys.readouterr()
    assert run("set-role", "--email", "agent@ville.example.fr", "--role", "groupe", "--quartier", "QN01315M") == 0
    assert "rôle groupe" in capsys.readouterr().out
    assert run("deactivate", "--email", "admin@ville.example.fr") == 2  # the last admin stays
    assert "dernier_admin" in capsys.readouterr().err
    assert run("deactivate", "--email", "agent@ville.example.fr") == 0
    assert run("deactivate", "--email", "personne@ville.example.fr") == 2
    capsys.readouterr()
    assert run("list") == 0
    listed = capsys.readouterr().out
    assert "admin@ville.example.fr\tadmin\tactif" in listed and "agent@" not in listed
    assert run("list", "--all") == 0
    assert "agent@ville.example.fr\tgroupe quartiers QN01315M\tdésactivé" in capsys.readouterr().out
