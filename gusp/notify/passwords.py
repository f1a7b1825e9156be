"""The password-reset mail: stored with a placeholder, its link made only when the worker sends it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gusp import credentials, throttle
from gusp.config import Settings
from gusp.models import OutboxMessage, PasswordReset, User
from gusp.notify import queue, rendering

RESET_LINK_PLACEHOLDER = "[lien-de-reinitialisation]"  # replaced by the worker at sending time


def password_reset(*, session: Session, settings: Settings, user: User, reset: PasswordReset) -> OutboxMessage:
    """Queue a reset mail whose link is made only when the worker sends it (`final_bodies`): the
    stored row holds a placeholder, never a usable link."""
    throttle.mail_to(session=session, settings=settings, address=user.email)
    subject = "GUSP : réinitialisation de votre mot de passe"
    text, html = rendering.render(
        queue.MailKind.PASSWORD_RESET,
        title=subject,
        name=user.full_name,
        email=user.email,
        link=RESET_LINK_PLACEHOLDER,
        minutes=settings.password_reset_minutes,
    )
    return queue.enqueue(
        session=session,
        kind=queue.MailKind.PASSWORD_RESET,
        recipient=user.email,
        subject=subject,
        text=text,
        html=html,
        data={"user_id": user.id, "secret": True, "reset": reset.token_hash},
    )


def reset_link(settings: Settings, token: str) -> str:
    """In the fragment: never sent to the server, so never in an access log; the page POSTs it."""
    return rendering.url(settings, f"/reinitialiser#jeton={token}")


def final_bodies(*, session: Session, settings: Settings, message: OutboxMessage) -> tuple[str, str | None]:
    """The bodies to send now: a reset mail gets a fresh token (ValueError when the link is dead)."""
    if message.kind != queue.MailKind.PASSWORD_RESET or "reset" not in (message.data or {}):
        return message.body_text, message.body_html
    issued = credentials.issue_reset_token(session=session, reset_hash=message.data["reset"])
    if issued is None:
        raise ValueError("lien de réinitialisation utilisé, remplacé ou expiré avant l'envoi")
    token, token_hash = issued
    message.data = {**message.data, "reset": token_hash}  # a retry finds the row again
    link = reset_link(settings, token)

    def filled(body: str | None) -> str | None:
        return body.replace(RESET_LINK_PLACEHOLDER, link) if body is not None else None

    return filled(message.body_text), filled(message.body_html)
