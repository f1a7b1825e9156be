"""The office's own pages in Chromium (issue 14, point 5): the outbox with "Renvoyer" and its count
on the console, the admins' accounts page, and changing one's own password; phone and desktop."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from gusp import accounts, db, intake, notify, schemas, states, storage
from gusp.models import OutboxMessage
from tests import builders
from tests.web.conftest import PASSWORD


def _failed_mail(settings) -> tuple[int, str]:
    """A resident's receipt that the relay refused for good: its id and its report's reference."""
    with db.command_session(settings.database_url) as session:
        data = schemas.ReportCreate.model_validate(builders.form(
            session, description="Poubelles renversées", contact_email=f"r-{uuid.uuid4().hex[:6]}@example.org",
            contact_consent="true"))
        report, _ = intake.create_report(session=session, settings=settings, storage=storage.from_settings(settings),
                                         data=data, uploads=[], idempotency_key=None)
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.report_id == report.id)).one()
        message.status, message.attempts, message.last_error = states.OutboxStatus.FAILED, 8, "SMTPServerDisconnected"
        return message.id, report.reference


def _account(settings, role: str, **fields) -> str:
    email = f"{role}-{uuid.uuid4().hex[:8]}@gusp.example"
    with db.command_session(settings.database_url) as session:
        accounts.create_user(session=session, email=email, full_name=f"Compte {role}", password=PASSWORD, role=role,
                             **fields)
    return email


def _status(settings, message_id: int) -> str:
    with db.command_session(settings.database_url) as session:
        return session.get(OutboxMessage, message_id).status


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_console_counts_failed_mails_and_the_outbox_page_sends_them_again(pages, live_server, phone):
    message_id, reference = _failed_mail(live_server.settings)
    page = pages.context(phone=phone).new_page()
    pages.sign_in(page, live_server.accounts.coordinator)
    expect(page.locator("body[data-ready=true]")).to_be_attached()

    alert = page.locator("#outbox-alert")
    expect(alert).to_contain_text(re.compile(r"\d+ courriers? n'(a|ont) pas pu partir"))
    alert.get_by_role("link", name="Voir et renvoyer").click()
    expect(page).to_have_url(re.compile(r"/gestion/courriers\?status=failed$"))
    row = page.locator(f"#outbox-rows tr[data-id='{message_id}']")
    expect(row).to_contain_text("Accusé de réception au déclarant")
    expect(row).to_contain_text("SMTPServerDisconnected")
    expect(row.get_by_role("link", name=reference)).to_have_attribute("href", f"/gestion?ref={reference}")
    pages.check_accessibility(page, f"courriers-{'phone' if phone else 'desktop'}")
    pages.shoot(page, f"courriers-{'phone' if phone else 'desktop'}")

    row.get_by_role("button", name=re.compile("^Renvoyer")).click()
    expect(row).to_have_count(0)  # no longer failed: back in the queue
    assert _status(live_server.settings, message_id) == "pending"


def test_partners_see_no_outbox(pages, live_server):
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.partner)
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.get_by_role("link", name=re.compile("^Courriers"))).to_be_hidden()
    expect(page.locator("#outbox-alert")).to_be_hidden()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_an_admin_creates_changes_and_deactivates_an_account(pages, live_server, phone):
    admin = _account(live_server.settings, "admin")
    newcomer = f"nouvelle-{uuid.uuid4().hex[:8]}@gusp.example"
    page = pages.context(phone=phone).new_page()
    pages.sign_in(page, admin, "/gestion/comptes")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    form = page.locator("#user-form")

    form.get_by_label("Adresse e-mail").fill(newcomer)
    form.get_by_label("Nom complet").fill("Nina Nouvelle")
    form.get_by_label("Rôle", exact=True).select_option("groupe")
    form.get_by_label(re.compile(r"Encagnane")).check()
    form.get_by_role("button", name="Créer le compte").click()
    expect(page.locator("#users-done")).to_contain_text(f"un lien pour choisir son mot de passe part vers {newcomer}")
    row = page.locator("#users-rows tr", has_text=newcomer)
    expect(row).to_contain_text("Groupe opérationnel")
    expect(row).to_contain_text("Encagnane")
    pages.check_accessibility(page, f"comptes-{'phone' if phone else 'desktop'}")
    pages.shoot(page, f"comptes-{'phone' if phone else 'desktop'}")

    row.get_by_role("button", name="Modifier le compte de Nina Nouvelle").click()
    form.get_by_label("Rôle", exact=True).select_option("partenaire")
    form.get_by_role("button", name="Enregistrer").click()
    expect(form.locator("[data-field=partner_id] .field-error")).to_contain_text("rattaché à un partenaire")
    form.get_by_label("Partenaire (rôle partenaire)").select_option(label=live_server.accounts.partner_name)
    form.get_by_label("Compte actif").uncheck()
    form.get_by_role("button", name="Enregistrer").click()
    expect(row).to_contain_text("Désactivé")
    expect(row).to_contain_text(live_server.accounts.partner_name)


def test_a_coordinator_cannot_open_the_accounts_page(pages, live_server):
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/gestion/comptes")
    expect(page.locator("#users-error")).to_contain_text("Seuls les administrateurs")
    expect(page.locator("#user-form")).to_be_hidden()


def test_one_changes_one_s_own_password(pages, live_server):
    email = _account(live_server.settings, "agent")
    page = pages.context(phone=True).new_page()
    pages.sign_in(page, email, "/compte")
    expect(page.locator("#me")).to_contain_text(email)
    form = page.locator("#password-form")

    form.get_by_label("Mot de passe actuel").fill("pas le bon mot de passe")
    form.get_by_label("Nouveau mot de passe").fill("une nouvelle phrase de passe")
    form.get_by_label("Le nouveau, une seconde fois").fill("une nouvelle phrase de passe")
    form.get_by_role("button", name="Changer le mot de passe").click()
    expect(form.locator("[data-field=current_password] .field-error")).to_have_text("Le mot de passe actuel est incorrect.")
    pages.check_accessibility(page, "compte-erreur")

    form.get_by_label("Mot de passe actuel").fill(PASSWORD)
    form.get_by_label("Nouveau mot de passe").fill("une nouvelle phrase de passe")
    form.get_by_label("Le nouveau, une seconde fois").fill("une nouvelle phrase de passe")
    form.get_by_label("Le nouveau, une seconde fois").press("Enter")  # from the keyboard
    expect(page.locator("#password-done")).to_be_visible()
    pages.shoot(page, "compte-fait")
    with db.command_session(live_server.settings.database_url) as session:
        user = accounts.user_by_email(session=session, email=email)
        assert accounts.verify_password(password_hash=user.password_hash, password="une nouvelle phrase de passe")
