"""What every mail is made of: its templates, the links it carries, French dates and labels."""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp.config import Settings
from gusp.models import Category, Report, ReporterContact, ReportPhoto
from gusp.notify.queue import MailKind
from gusp.public import visibility

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "mail_templates"


def follow_url(settings: Settings, reference: str) -> str:
    return url(settings, f"/suivi/{reference}")


def staff_url(settings: Settings, reference: str) -> str:
    """The console opened on the report (`/gestion?ref=…`): the one page staff work from."""
    return url(settings, f"/gestion?ref={quote(reference, safe='')}")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string in a mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(kind: MailKind, **context: object) -> tuple[str, str]:
    """The plain-text and the HTML body of a template; only the HTML one is escaped."""
    env = _environment()
    return env.get_template(f"{kind}.txt").render(context), env.get_template(f"{kind}.html").render(context)


def category_label(session: Session, report: Report) -> str:
    """Read by code: triage may change `category_code` without touching the loaded relationship."""
    category = session.get(Category, report.category_code)
    return category.label if category else report.category_code


def report_photo_paths(session: Session, report: Report) -> list[str]:
    """Links to the resident's photos (not the partner's "after" photos): the public URL while a photo
    is public (a partner's mailbox needs no account), the staff URL (sign-in) for a hidden photo or
    one of a sensitive category or awaiting publication."""
    photos = session.scalars(
        select(ReportPhoto)
        .where(ReportPhoto.report_id == report.id, ReportPhoto.kind == "signalement")
        .order_by(ReportPhoto.position)
    )
    return [f"/media/{p.display_key}" if visibility.photo_is_public(report, p) else f"/api/v1/gestion/media/{p.display_key}"
            for p in photos]


def reachable(contact: ReporterContact | None) -> bool:
    return bool(contact and contact.email and contact.consent)


def unique(emails: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for email in emails:
        if email and email.strip():
            seen.setdefault(email.strip().lower(), email.strip())
    return list(seen.values())


def quartier_label(report: Report) -> str:
    if report.quartier is not None:
        return report.quartier.nom
    if report.nearest_quartier is not None:
        return f"hors périmètre (près de {report.nearest_quartier.nom})"
    return "hors périmètre"


def days_late(due_at: datetime, now: datetime) -> str:
    """Whole days past the deadline, rounded down: 2 days and a few seconds are "2 jours"."""
    days = math.floor((now - due_at).total_seconds() / 86400)
    if days < 1:
        return "moins d'un jour"
    return f"{days} jour{'s' if days > 1 else ''}"


def fr_datetime(value: datetime, settings: Settings) -> str:
    return value.astimezone(ZoneInfo(settings.timezone)).strftime("%d/%m/%Y à %H:%M")


def fr_date(value: datetime, settings: Settings) -> str:
    return value.astimezone(ZoneInfo(settings.timezone)).strftime("%d/%m/%Y")


def url(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}"
