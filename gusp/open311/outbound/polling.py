"""Bring a partner's status changes back: read its `servicerequestupdates`, apply them through triage.

For each partner link with something sent: tokens are exchanged for ids, then the updates since
the last window read (less a 10-minute overlap; at most 89 days) are fetched and each one, by its
`update_id`, applied once, in a transaction of its own. A partner may in GUSP what its members
may on the partner's queue, no more:

- `fixed` / `closed` resolve an open report (its text the public resolution note, its `media_url`
  the "after" photo, fetched like any media_url);
- `in_progress` takes a report that was `pris_en_compte`;
- a refusal (`not_councils_responsibility`, `no_further_action`, `duplicate`, `cancelled`…) does
  not reject: only coordinators reject. It becomes an internal note, and coordinators are mailed;
- anything else with a text becomes an internal note; an update for a report handed meanwhile to
  someone else, too.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker as SessionMaker

from gusp import db, errors, notify, states, storage, triage
from gusp.config import Settings
from gusp.models import Partner, Report
from gusp.models.open311 import Open311RemoteUpdate, Open311Transmission, PartnerOpen311
from gusp.open311 import media
from gusp.open311.outbound import remote

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)
WINDOW_MAX = timedelta(days=89)  # servers refuse more than 90 days
RESOLVED = frozenset({"fixed", "closed", "resolved"})
IN_PROGRESS = frozenset({"in_progress"})
DECLINED = {
    "not_councils_responsibility": "ne relève pas de sa compétence",
    "no_further_action": "n'y donnera pas suite",
    "duplicate": "le considère comme un doublon",
    "cancelled": "l'a annulé",
    "wont_fix": "ne le traitera pas",
}


@dataclass(frozen=True)
class PollResult:
    partners: int = 0
    applied: int = 0
    noted: int = 0
    failed: int = 0


def poll_all(*, sessionmaker: SessionMaker[Session], settings: Settings, now: datetime) -> PollResult:
    """One round over every active link that sent something; one partner's failure stops no other."""
    with sessionmaker() as session:
        ids = list(session.scalars(
            select(PartnerOpen311.partner_id).where(
                PartnerOpen311.active, PartnerOpen311.poll_updates,
                select(Open311Transmission.id).where(Open311Transmission.partner_id == PartnerOpen311.partner_id)
                .exists())
            .order_by(PartnerOpen311.partner_id)))
    total = PollResult()
    for partner_id in ids:
        result = poll_partner(sessionmaker=sessionmaker, settings=settings, partner_id=partner_id, now=now)
        total = PollResult(total.partners + 1, total.applied + result.applied, total.noted + result.noted,
                           total.failed + result.failed)
    return total


def poll_partner(*, sessionmaker: SessionMaker[Session], settings: Settings, partner_id: int, now: datetime
                 ) -> PollResult:
    tz = ZoneInfo(settings.timezone)
    timeout = settings.open311_client_timeout_s
    with sessionmaker() as session, db.transaction(session):
        link = session.get(PartnerOpen311, partner_id)
        _resolve_tokens(session, link, timeout)
        first_sent = session.scalar(select(Open311Transmission.sent_at).where(
            Open311Transmission.partner_id == partner_id).order_by(Open311Transmission.sent_at).limit(1))
        start = max((link.polled_until or first_sent or now) - OVERLAP, now - WINDOW_MAX)
        session.expunge(link)
    applied = noted = failed = 0
    error: str | None = None
    try:
        found = remote.updates(link=link, start=start, end=now, timeout=timeout, tz=tz)
    except (remote.Unavailable, remote.Refused) as failure:
        found, error = [], str(failure)
    for update in found:
        try:
            outcome = apply(sessionmaker=sessionmaker, settings=settings, link=link, update=update)
        except Exception as failure:  # one bad update must not stop the others; retried next round
            log.exception("open311: update %s of partner %s failed", update.update_id, partner_id)
            failed, error = failed + 1, f"mise à jour {update.update_id} : {failure}"
            continue
        applied += outcome == "applied"
        noted += outcome == "noted"
    with sessionmaker() as session, db.transaction(session):
        link = session.get(PartnerOpen311, partner_id)
        link.last_poll_at = now
        link.last_poll_error = error
        if error is None:
            link.polled_until = now
    return PollResult(partners=1, applied=applied, noted=noted, failed=failed)


def apply(*, sessionmaker: SessionMaker[Session], settings: Settings, link: PartnerOpen311, update: remote.Update
          ) -> str | None:
    """Apply one update; its outcome (`applied`, `noted`, `ignored`), or None if it is not ours or seen."""
    with sessionmaker() as session:
        target = _target(session, link.partner_id, update)
        if target is None:
            return None
        wants_photo = update.status in RESOLVED and update.media_url and target.status in states.OPEN
    photo = _photo(update.media_url, settings) if wants_photo else None  # fetched outside any transaction
    with sessionmaker() as session, db.transaction(session):
        db.advisory_xact_lock(session, f"open311:partner:{link.partner_id}:update:{update.update_id}")
        report = _target(session, link.partner_id, update)
        if report is None:
            return None
        session.execute(select(Report.id).where(Report.id == report.id).with_for_update())
        session.refresh(report)
        partner = session.get(Partner, link.partner_id)
        outcome = _apply(session, settings, report, partner, update, photo)
        session.add(Open311RemoteUpdate(partner_id=partner.id, update_id=update.update_id, report_id=report.id,
                                        status=update.status or "?", outcome=outcome))
    return outcome


def _apply(session: Session, settings: Settings, report: Report, partner: Partner, update: remote.Update,
           photo: bytes | None) -> str:
    status = states.ReportStatus(report.status)
    data = {"open311_partner": partner.name, "open311_update_id": update.update_id,
            "open311_status": update.status}
    text = update.description.strip() or None
    ours = report.partner_id == partner.id
    if ours and update.status in RESOLVED and status in states.OPEN:
        store = storage.from_settings(settings)
        try:
            triage.resolve(session=session, settings=settings, storage=store, report=report, actor=None, note=text,
                           after_photo=io.BytesIO(photo) if photo else None, event_data=data)
        except errors.GuspError:  # the photo is refused before anything is written: resolve without it
            if photo is None:
                raise
            triage.resolve(session=session, settings=settings, storage=store, report=report, actor=None, note=text,
                           event_data=data)
        return "applied"
    if update.status in RESOLVED and status not in states.OPEN:
        return "ignored"  # already resolved or closed here
    if ours and update.status in IN_PROGRESS and status is states.ReportStatus.PRIS_EN_COMPTE:
        triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.EN_COURS,
                             actor=None, note=text, event_data=data)
        return "applied"
    if ours and update.status in DECLINED:
        what = f"{partner.name} {DECLINED[update.status]}"
        triage.comment(session=session, report=report, actor=None, event_data=data,
                       note=f"Par Open311 : {what}." + (f" {text}" if text else ""))
        notify.staff_notice(session=session, settings=settings, report=report, intro=f"{what} : à décider",
                            text=text, text_label=f"Réponse de {partner.name}")
        return "noted"
    if text:
        triage.comment(session=session, report=report, actor=None, event_data=data,
                       note=f"Par Open311, {partner.name} ({update.status or 'sans statut'}) : {text}")
        return "noted"
    return "ignored"


def _target(session: Session, partner_id: int, update: remote.Update) -> Report | None:
    """The report this update is about, if GUSP sent it to this partner and has not seen the update."""
    seen = session.scalar(select(Open311RemoteUpdate.id).where(
        Open311RemoteUpdate.partner_id == partner_id, Open311RemoteUpdate.update_id == update.update_id))
    if seen is not None:
        return None
    return session.scalars(
        select(Report).join(Open311Transmission, Open311Transmission.report_id == Report.id)
        .where(Open311Transmission.partner_id == partner_id,
               Open311Transmission.remote_id == update.service_request_id)
    ).first()


def _photo(url: str, settings: Settings) -> bytes | None:
    """The "after" photo, or None: a photo that cannot be fetched does not hold the resolution back."""
    try:
        return media.fetch(url, settings=settings)
    except errors.GuspError as refused:
        log.warning("open311: after photo %s not fetched: %s", url, refused.message)
        return None


def _resolve_tokens(session: Session, link: PartnerOpen311, timeout: float) -> None:
    waiting = session.scalars(select(Open311Transmission).where(
        Open311Transmission.partner_id == link.partner_id, Open311Transmission.remote_id.is_(None),
        Open311Transmission.token.is_not(None))).all()
    for transmission in waiting:
        try:
            transmission.remote_id = remote.request_id_of_token(link=link, token=transmission.token, timeout=timeout)
        except remote.Unavailable:
            return
    session.flush()
