"""Taking a report without photos in one statement (two with a receipt to send).

The same rules as gusp.intake, written as SQL so that the round trips do not dominate: one
statement peeks at the stranger's hourly limit (gusp.throttle), checks the category and the
service area, counts the stranger's report, attributes the point (gusp.geo.attribution), finds
the likely duplicates (gusp.duplicates), routes it (gusp.routing), numbers it, and inserts the
report, its `created` event and its contact only if the count is within the limit (so that the
statement alone is right: gusp.api.intake_lane runs it without a transaction around it); a second
one, when a receipt is due, queues it and counts the mail to that address. The answer is built
from what these return. A report refused because a concurrent one took the last place of the hour
may stay counted where no transaction undoes it: the limit only refuses sooner.

Idempotency rests on the unique `idempotency_key`: a concurrent retry's INSERT waits for the first
one's transaction, then inserts nothing (`ON CONFLICT DO NOTHING`) and replays the first report.
Refusals and replays (rare) fall back on gusp.intake's own functions.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import errors, intake, notify, schemas, states, throttle
from gusp.config import Settings
from gusp.geo import attribution
from gusp.models import User
from gusp.public import views as public_views
from gusp.ops import metrics

_P = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
_OPEN = ", ".join(f"'{s.value}'" for s in sorted(states.OPEN))

_TAKE_IN = text(f"""
WITH clock AS (SELECT now() AS now),
win AS (SELECT {throttle.window_start_sql(3600)} AS start),
allowed AS (
    SELECT CAST(:intake_key AS text) IS NULL OR COALESCE((
        SELECT count FROM rate_counters WHERE key = CAST(:intake_key AS text) AND window_start = (SELECT start FROM win)
    ), 0) < :intake_limit AS ok
),
cat AS (
    SELECT code, label, description, icon, duplicate_radius_m, photos_public, location_public
    FROM categories WHERE code = :category AND active
),
territory AS (
    SELECT {attribution.in_service_area_sql(_P, ":margin")} AS ok
),
inside AS (
    SELECT id, code, nom FROM quartiers WHERE ST_Intersects(geom, {_P})
    ORDER BY ST_Area(geom::geography), id LIMIT 1
),
bound AS MATERIALIZED (
    SELECT ST_Distance(q.geom::geography, {_P}::geography) AS d FROM quartiers q
    WHERE q.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM inside)
    ORDER BY q.geom <-> {_P} LIMIT 1
),
nearest AS (
    SELECT q.id, q.code, q.nom, ST_Distance(q.geom::geography, {_P}::geography) AS distance_m
    FROM bound, quartiers q WHERE q.geom && {attribution.box(_P, "bound.d")}
    ORDER BY distance_m, q.id LIMIT 1
),
alike AS (
    SELECT r.reference FROM reports r, clock
    WHERE r.category_code = :category AND r.status IN ({_OPEN}) AND r.master_report_id IS NULL
      AND r.created_at >= clock.now - make_interval(days => :window_days) AND r.created_at <= clock.now
      -- the radius as a scalar subquery (an InitPlan parameter), not cat's column: then ST_DWithin is
      -- an index condition and only the reports within the radius are read, not every open one
      AND ST_DWithin(r.location::geography, {_P}::geography,
                     (SELECT duplicate_radius_m FROM categories WHERE code = :category AND active))
    ORDER BY ST_Distance(r.location::geography, {_P}::geography), r.id
    LIMIT 5
),
partner AS (
    SELECT p.id, p.name FROM routing_rules r
    JOIN partners p ON p.id = r.partner_id AND p.active
    LEFT JOIN management_zones z ON z.id = r.zone_id
    WHERE r.category_code = :category
      AND (r.quartier_id IS NULL OR r.quartier_id = (SELECT id FROM inside))
      AND (r.zone_id IS NULL OR ST_Intersects(z.geom, {_P}))
    ORDER BY r.zone_id IS NOT NULL DESC, r.quartier_id IS NOT NULL DESC, ST_Area(z.geom::geography), r.zone_id
    LIMIT 1
),
counted AS (  -- gusp.throttle.anonymous_intake: counted first, the report is written only within the limit
    INSERT INTO rate_counters (key, window_start, count)
    SELECT CAST(:intake_key AS text), win.start, 1 FROM win, cat, territory, allowed
    WHERE CAST(:intake_key AS text) IS NOT NULL AND territory.ok AND allowed.ok
      AND NOT EXISTS (SELECT 1 FROM reports WHERE idempotency_key = CAST(:key AS text))  -- a replay: not counted
    ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
    RETURNING count
),
ins AS (
    INSERT INTO reports (reference, status, source, created_by_user_id, category_code, description, location,
                         accuracy_m, attribution, quartier_id, nearest_quartier_id, nearest_distance_m, partner_id,
                         idempotency_key, request_fingerprint, published, created_at, updated_at)
    SELECT 'GUSP-' || extract(year FROM clock.now AT TIME ZONE :tz)::int || '-'
               || lpad(seq.n::text, greatest(6, length(seq.n::text)), '0'),
           :status, :source, :author_id, cat.code, :description, {_P}, :accuracy_m,
           CASE WHEN EXISTS (SELECT 1 FROM inside) THEN :perimetre ELSE :hors_perimetre END,
           (SELECT id FROM inside), (SELECT id FROM nearest), (SELECT distance_m FROM nearest),
           (SELECT id FROM partner), :key, :fingerprint, :published, clock.now, clock.now
    FROM clock, cat, territory, allowed, LATERAL (SELECT nextval('report_reference_seq') AS n) seq
    WHERE territory.ok AND allowed.ok
      AND (CAST(:intake_key AS text) IS NULL OR (SELECT count FROM counted) <= :intake_limit)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, reference, created_at, attribution, quartier_id
),
event AS (
    INSERT INTO report_events (report_id, kind, at, source, actor, actor_user_id, data, note_public)
    SELECT ins.id, :created, ins.created_at, :source, :actor, :author_id,
           jsonb_build_object('status', :status, 'category', :category, 'attribution', ins.attribution,
                              'quartier_id', ins.quartier_id, 'photos', 0,
                              'likely_duplicates', to_jsonb(ARRAY(SELECT reference FROM alike))),
           true
    FROM ins
),
contact AS (
    INSERT INTO reporter_contacts (report_id, name, email, phone, consent, created_at)
    SELECT ins.id, :contact_name, :contact_email, :contact_phone, :contact_consent, ins.created_at
    FROM ins WHERE :has_contact
)
SELECT (SELECT ok FROM allowed) AS allowed, (SELECT start FROM win) AS window_start,
       (SELECT now FROM clock) AS now, (SELECT count FROM counted) AS intake_count,
       EXISTS (SELECT 1 FROM cat) AS category_ok, territory.ok AS in_territory,
       ins.id, ins.reference, ins.created_at, ins.attribution,
       (SELECT label FROM cat) AS category_label, (SELECT description FROM cat) AS category_description,
       (SELECT icon FROM cat) AS category_icon, (SELECT photos_public FROM cat) AS category_photos_public,
       (SELECT location_public FROM cat) AS category_location_public,
       inside.code AS quartier_code, inside.nom AS quartier_nom,
       nearest.code AS nearest_code, nearest.nom AS nearest_nom, nearest.distance_m AS nearest_distance_m
FROM territory
LEFT JOIN ins ON true
LEFT JOIN inside ON ins.id IS NOT NULL
LEFT JOIN nearest ON ins.id IS NOT NULL
""")

# PostgreSQL's own placeholders: `:name` becomes `$n`, numbered in order of first use (casts such as
# `::geography` are left alone), run through psycopg's RawCursor. With `%(name)s` placeholders psycopg
# would split the statement at every call: it caches that work only for statements up to 4,096
# bytes, and this one is 6.7 KB (7 % of the server's CPU per report, measured with py-spy).
_NAMES: list[str] = []


def _numbered(match: re.Match) -> str:
    if match.group(1) not in _NAMES:
        _NAMES.append(match.group(1))
    return f"${_NAMES.index(match.group(1)) + 1}"


STATEMENT = re.sub(r"(?<![:\w]):(\w+)", _numbered, _TAKE_IN.text)


def _run_raw(session: Session, statement: str, params: tuple) -> Any:
    """`statement`'s one row, run by SQLAlchemy (its events see it: statements are counted) on a
    psycopg RawCursor, which sends the statement as it is."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    factory, driver.cursor_factory = driver.cursor_factory, psycopg.RawCursor
    try:
        return connection.exec_driver_sql(statement, params).one()
    finally:
        driver.cursor_factory = factory


@dataclass(frozen=True)
class Taken:
    """A report just taken in, or replayed (then `report` is the stored one)."""

    public: schemas.ReportPublic
    replayed: bool


def can_take(*, data: schemas.ReportCreate, uploads: list) -> bool:
    """The lean path takes reports without photos that have a description; the rest goes to gusp.intake."""
    return not uploads and bool(data.description)


def take_in(
    *, session: Session, settings: Settings, data: schemas.ReportCreate, author: User | None,
    idempotency_key: str | None, client: str | None, public_view,
) -> Taken:
    """Insert the report (and its event, contact, receipt, counters); `public_view(report)` renders a replay.

    A stranger's report is checked against its address's hourly limit and counted in the same
    statement (gusp.throttle's peek and hit): the counter's row is locked only until the commit."""
    params = statement_params(settings=settings, data=data, author=author, idempotency_key=idempotency_key,
                              client=client)
    # As the driver's own SQL: the same statement (and the same statement count), without SQLAlchemy
    # compiling parameters each time.
    row = _run_raw(session, STATEMENT, arguments(params))
    if not row.allowed:  # gusp.throttle.before_anonymous_intake: the hour is full already
        throttle.verdict(count=settings.intake_per_ip_per_hour + 1, start=row.window_start, now=row.now,
                         limit=settings.intake_per_ip_per_hour, window=throttle.HOUR, message=throttle.INTAKE_MESSAGE)
    if not row.category_ok:
        raise errors.InvalidFields([errors.Unprocessable(
            "categorie_inconnue", "Cette catégorie n'existe pas : choisissez-en une dans la liste.", field="category"
        )])
    if row.intake_count is not None:  # over the limit (a concurrent report took the last place): not written
        throttle.verdict(count=row.intake_count, start=row.window_start, now=row.now,
                         limit=settings.intake_per_ip_per_hour, window=throttle.HOUR, message=throttle.INTAKE_MESSAGE)
    if row.id is None:
        if idempotency_key and (existing := intake.replay(session, idempotency_key, params["fingerprint"])):
            return Taken(public_view(existing), True)
        intake.require_in_territory(session=session, settings=settings, lat=data.lat, lon=data.lon)
        raise RuntimeError("report neither inserted nor replayed")  # pragma: no cover
    _receipt(session=session, settings=settings, row=row, data=data, stranger=author is None)
    metrics.REPORTS_CREATED.labels(params["source"]).inc()
    return Taken(answer(row, data=data, settings=settings, published=params["published"]), False)


def statement_params(
    *, settings: Settings, data: schemas.ReportCreate, author: User | None, idempotency_key: str | None,
    client: str | None,
) -> dict[str, Any]:
    """The statement's parameters by name (an invalid Idempotency-Key is refused here)."""
    intake.check_idempotency_key(idempotency_key)
    source = states.Source.AGENT if author is not None else data.source
    stranger = author is None and bool(client)
    return {
        "category": data.category, "lat": float(data.lat), "lon": float(data.lon),
        "margin": float(settings.service_area_margin_m), "window_days": settings.duplicate_window_days,
        "tz": settings.timezone, "status": states.ReportStatus.NOUVEAU.value, "source": source.value,
        "author_id": author.id if author else None, "actor": author.full_name if author else None,
        "description": data.description, "accuracy_m": data.accuracy_m,
        "perimetre": states.Attribution.PERIMETRE.value, "hors_perimetre": states.Attribution.HORS_PERIMETRE.value,
        "key": idempotency_key, "fingerprint": intake.fingerprint_of(data, []) if idempotency_key else None,
        "created": states.EventKind.CREATED.value,
        # GUSP_PUBLIC_MODERATION=before: a resident's text and photos wait for a coordinator; staff's do not
        "published": settings.public_moderation == "after" or author is not None,
        "has_contact": bool(data.has_contact), "contact_name": data.contact_name, "contact_email": data.contact_email,
        "contact_phone": data.contact_phone, "contact_consent": data.contact_consent,
        "intake_key": throttle.key_of("intake-ip", client) if stranger else None,
        "intake_limit": settings.intake_per_ip_per_hour,
    }


def arguments(params: dict[str, Any]) -> tuple:
    """`params` in the order of STATEMENT's `$n` placeholders."""
    return tuple(params[name] for name in _NAMES)


def receipt_due(data: schemas.ReportCreate) -> bool:
    return bool(data.has_contact and data.contact_email and data.contact_consent)


def _receipt(*, session: Session, settings: Settings, row: Any, data: schemas.ReportCreate, stranger: bool) -> None:
    """The receipt in the outbox and, for a stranger, the count of mails to that address: one statement."""
    if not receipt_due(data):
        return
    subject, body_text, body_html = notify.receipt(settings, reference=row.reference, category=row.category_label)
    params = dict(kind=notify.MailKind.REPORT_RECEIVED.value, recipient=data.contact_email.strip(), subject=subject,
                  body_text=body_text, body_html=body_html, report_id=row.id,
                  pending=states.OutboxStatus.PENDING.value, message_id=f"<{uuid.uuid4().hex}@gusp>",
                  mail_key=throttle.key_of("mail-to", data.contact_email) if stranger else None)
    counted = session.execute(text(f"""
        WITH receipt AS (
            INSERT INTO outbox (kind, recipient, subject, body_text, body_html, report_id, status, attempts,
                                message_id, data)
            VALUES (:kind, :recipient, :subject, :body_text, :body_html, :report_id, :pending, 0, :message_id,
                    '{{}}'::jsonb)
        ),
        counted AS (
            INSERT INTO rate_counters (key, window_start, count)
            SELECT CAST(:mail_key AS text), {throttle.window_start_sql(86400)}, 1 WHERE CAST(:mail_key AS text) IS NOT NULL
            ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
            RETURNING count, window_start, now() AS now
        )
        SELECT * FROM counted"""), params).first()
    if counted is not None:
        throttle.verdict(count=counted.count, start=counted.window_start, now=counted.now,
                         limit=settings.mails_per_recipient_per_day, window=throttle.DAY, field="contact_email",
                         message="Trop de messages ont été demandés pour cette adresse e-mail aujourd'hui.")


def answer(row: Any, *, data: schemas.ReportCreate, settings: Settings, published: bool) -> schemas.ReportPublic:
    """The public view (gusp.public.views' own rules: redaction, moderation, sensitive places) of a
    stand-in for the report made from what the statement returned: nothing is read again, and no
    ORM object is built (their instrumentation cost more than the rest of the answer)."""
    category = SimpleNamespace(code=data.category, label=row.category_label, description=row.category_description,
                               icon=row.category_icon, photos_public=row.category_photos_public,
                               location_public=row.category_location_public)
    report = SimpleNamespace(
        reference=row.reference, status=states.ReportStatus.NOUVEAU.value, description=data.description,
        accuracy_m=data.accuracy_m, attribution=row.attribution, nearest_distance_m=row.nearest_distance_m,
        published=published, similar_count=0, created_at=row.created_at, category=category, photos=[],
        quartier=SimpleNamespace(code=row.quartier_code, nom=row.quartier_nom) if row.quartier_code else None,
        nearest_quartier=SimpleNamespace(code=row.nearest_code, nom=row.nearest_nom) if row.nearest_code else None,
    )
    tz = ZoneInfo(settings.timezone)
    status = states.ReportStatus.NOUVEAU
    created = SimpleNamespace(kind=states.EventKind.CREATED.value, at=row.created_at, note=None, note_public=True,
                              data={})
    timeline = [e for e in [public_views.public_event(created)] if e is not None]
    for entry in timeline:
        entry.at = entry.at.astimezone(tz)
    return schemas.ReportPublic(
        reference=row.reference,
        status=status,
        status_label=states.STATUS_LABELS[status],
        category=public_views.category(report),
        description=public_views.description(report),
        location=public_views.location_at(report, lat=float(data.lat), lon=float(data.lon)),
        published=published,
        attribution=public_views.attribution(report),
        photos=[],
        after_photos=[],
        similar_count=0,
        duplicate_of=None,
        timeline=timeline,
        created_at=row.created_at.astimezone(tz),
        follow_url=f"{settings.public_url.rstrip('/')}/suivi/{row.reference}",
    )
