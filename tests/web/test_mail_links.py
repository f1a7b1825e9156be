"""Every link of every kind of mail, as received by a real SMTP server, followed in a real browser
by its recipient: it opens the right page (issue 14, points 1 and 2)."""

from __future__ import annotations

import re
import io
import uuid
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from gusp import accounts, credentials, db, intake, notify, schemas, states, storage, triage, worker
from gusp.models import OutboxMessage, Partner, User
from tests import builders, smtp
from tests.web.conftest import PASSWORD

RESIDENT = "riveraine@example.org"
NEW_PASSWORD = "une phrase de passe toute neuve"
_HREF = re.compile(r'href="([^"]+)"')
_TEXT_URL = re.compile(r"https?://\S+")


def _queue_one_of_each(settings, *, forgetful: str) -> tuple[str, set[str]]:
    """A report taken through its life (received, assigned, noticed, late, resolved) and a reset
    request: the Message-IDs of the mails queued, one kind at least of each."""
    tz = ZoneInfo(settings.timezone)
    with db.command_session(settings.database_url) as session:
        data = schemas.ReportCreate.model_validate(builders.form(
            session, description="Banc arraché devant la médiathèque", contact_email=RESIDENT,
            contact_consent="true"))
        report, _ = intake.create_report(session=session, settings=settings, storage=storage.from_settings(settings),
                                         data=data, uploads=[io.BytesIO(builders.jpeg())],
                                         idempotency_key=None)
        partner = session.scalars(select(Partner).where(Partner.name == "Pays d'Aix Habitat")).one()
        coordinator = session.scalars(select(User).where(User.email == "coordination@gusp.example")).one()
        triage.assign(session=session, settings=settings, report=report, partner=partner, actor=coordinator)
        triage.comment(session=session, settings=settings, report=report, actor=coordinator,
                       note="Le service passe cette semaine.", public=True)
        notify.staff_notice(session=session, settings=settings, report=report, intro="réponse du partenaire",
                            text="Intervention programmée.")
        late = report.due_at + timedelta(days=400)
        notify.overdue_digest(session=session, settings=settings, now=late)
        triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.RESOLU,
                             actor=coordinator, note="Banc remplacé.", note_public=True)
        accounts.create_user(session=session, email=forgetful, full_name="Odile Oubli", password=PASSWORD,
                             role="coordinateur")
        user = accounts.user_by_email(session=session, email=forgetful)
        reset = credentials.request_password_reset(session=session, settings=settings, email=forgetful)
        notify.password_reset(session=session, settings=settings, user=user, reset=reset)
        ids = set(session.scalars(select(OutboxMessage.message_id).where(
            (OutboxMessage.report_id == report.id) | OutboxMessage.recipient.in_([forgetful])
            | (OutboxMessage.data["day"].astext == late.astimezone(tz).date().isoformat()))))
        return report.reference, ids


def _links(message: EmailMessage) -> list[str]:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    found = [unquote(u).replace("&amp;", "&") for u in _HREF.findall(html)] + _TEXT_URL.findall(text)
    return list(dict.fromkeys(u.rstrip(".,)") for u in found))


def test_every_link_of_every_mail_opens_the_right_page_for_its_recipient(pages, live_server):
    settings, seeded = live_server.settings, live_server.accounts
    forgetful = f"oubli-{uuid.uuid4().hex[:8]}@gusp.example"
    with smtp.running_smtp_server() as server:
        mail = smtp.mail_settings(settings, server, public_url=live_server.url)
        reference, ids = _queue_one_of_each(mail, forgetful=forgetful)
        sessionmaker = db.make_sessionmaker(db.make_engine(settings.database_url))
        while worker.send_pending(sessionmaker=sessionmaker, settings=mail, sender=worker.SmtpSender(mail)).processed:
            pass
        received = [m for m in server.messages if m["Message-ID"] in ids]

    kinds = {}
    with db.command_session(settings.database_url) as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.message_id.in_(ids))):
            kinds[row.message_id] = row.kind
    assert set(kinds.values()) == set(notify.MailKind), "one mail of each kind"

    # Who reads each mail, and with which password: the partner's address is read by its member.
    readers = {RESIDENT: None, "gestion@pah.example": seeded.partner, seeded.coordinator: seeded.coordinator,
               forgetful: forgetful}
    followed = set()
    for message in received:
        recipient = message["To"]
        if recipient not in readers:
            continue  # another coordinator of the shared test database
        kind = kinds[message["Message-ID"]]
        for link in _links(message):
            parts = urlsplit(link)
            if parts.netloc == "www.openstreetmap.org":
                continue  # the map of the place, outside GUSP (no network in tests)
            assert link.startswith(live_server.url + "/"), (kind, link)  # absolute, to this site
            if kind == notify.MailKind.OVERDUE_DIGEST and parse_qs(parts.query).get("ref") != [reference]:
                assert re.fullmatch(r"/gestion\?ref=GUSP-\d{4}-\d{6}", f"{parts.path}?{parts.query}"), link
                continue  # other tests' late reports: the same kind of link as ours
            _follow(pages, link, reader=readers[recipient], reference=reference, kind=kind)
            followed.add((kind, parts.path))
    assert {kind for kind, _ in followed} == set(notify.MailKind)


def _follow(pages, link: str, *, reader: str | None, reference: str, kind: str) -> None:
    parts = urlsplit(link)
    path = parts.path
    if path.startswith("/media/"):
        response = pages.context().request.get(link)
        assert response.status == 200 and response.headers["content-type"] == "image/jpeg", (kind, link)
        return
    page = pages.context().new_page()
    page.goto(link)
    if path == "/gestion":
        wanted = parse_qs(parts.query)["ref"][0]
        expect(page).to_have_url(re.compile(r"/connexion\?suite="))  # signed out: sign in first, then back
        page.get_by_label("Adresse e-mail").first.fill(reader)
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.locator("#detail h2")).to_have_text(wanted)
        assert wanted == reference, (kind, link)
    elif path.startswith("/suivi/"):
        assert reader is None, (kind, link)  # residents only
        expect(page.locator("#title")).to_have_text(f"Signalement {reference}")
    elif path == "/reinitialiser":
        page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
        page.get_by_label("Le même, une seconde fois").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(page.locator("#done")).to_contain_text("Votre mot de passe est changé")
    else:
        raise AssertionError(f"{kind}: unexpected link {link}")
    page.close()
