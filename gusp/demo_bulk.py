"""Demo data at scale: N realistic reports written straight in SQL (`INSERT … SELECT … generate_series`).

The intake path (photos, attribution, routing, one report at a time) makes about a hundred
reports a second; statistics must be measured on a million. Here everything is drawn in
PostgreSQL, a batch at a time:

- places: points generated inside each perimeter (a few metres in from its edge), as many per
  quartier as its population weighs, drawn with a skew so that some places come back often
  (the hotspots); 7 % of reports fall just outside every perimeter (`hors_perimetre`);
- categories weighted as in `gusp.demo`, partners in charge by category and quartier (demo
  partners are created when missing), priorities, sources;
- milestones consistent with the workflow: acknowledged after a few hours, assigned at that
  moment (deadline from the partner's delay and the priority), resolved after a log-normal time
  whose median depends on the partner, closed one to four weeks later; some rejected (half of
  them merged duplicates), some resolved by the coordinators themselves, some assigned but never
  handled, some never qualified (still `nouveau`);
  statuses follow from the milestones reached before now;
- one `created` event per report (optional; the event log is append-only, INSERT is allowed).

The same seed gives the same data. Each run adds `size` reports: it is for benchmarks and
demonstrations on a database of its own, not for a live one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import demo, states
from gusp.config import Settings

BATCH = 100_000
REPORTS_PER_PLACE = 25  # a place (a hall, a bin, a street corner) gets this many reports on average
INSET_DEG = 0.0001  # places stay ~10 m inside their perimeter, so the 5 m jitter never crosses it
JITTER_DEG = 0.00005

# Demo partners: (name, kind, deadline in days, median days from assignment to resolution).
PARTNERS: list[tuple[str, str, int, float]] = [
    ("Métropole Aix-Marseille — Propreté", "metropole", 7, 3.0),
    ("Métropole Aix-Marseille — Voirie", "metropole", 30, 16.0),
    ("Ville d'Aix-en-Provence — Éclairage public", "ville", 10, 6.0),
    ("Ville d'Aix-en-Provence — Espaces verts", "ville", 15, 9.0),
    ("Ville d'Aix-en-Provence — Police municipale", "ville", 3, 1.5),
    ("Pays d'Aix Habitat", "bailleur", 15, 11.0),
    ("Famille & Provence", "bailleur", 15, 14.0),
]
# Category → partner index; bailleur categories go to one bailleur or the other by quartier.
ROUTES: dict[str, int] = {
    "proprete": 0, "encombrants": 0, "tags_affichage": 0, "voirie": 1, "eau_fuites": 1, "eclairage": 2,
    "espaces_verts": 3, "aires_de_jeux": 3, "mobilier_urbain": 3, "stationnement_epaves": 4, "tranquillite": 4,
    "autre": 3, "parties_communes": 5, "ascenseurs": 5, "nuisibles": 5,
}
BAILLEURS = (5, 6)


@dataclass(frozen=True)
class BulkResult:
    created: int
    events: int
    seconds: float


def generate(
    *,
    session: Session,
    settings: Settings,
    size: int,
    seed: int = 2026,
    years: float = 3.0,
    events: bool = True,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> BulkResult:
    """Add `size` reports spread over the last `years` years, in batches; flushes, never commits."""
    if size < 0:
        raise ValueError("size must be positive")
    started = time.perf_counter()
    session.flush()
    now = now or session.scalar(text("SELECT now()"))
    places = max(50, math.ceil(size / REPORTS_PER_PLACE))
    _prepare(session, seed=seed, places=places)
    done = 0
    written = 0
    while done < size:
        batch = min(BATCH, size - done)
        written += _insert_batch(session, settings=settings, batch=batch, now=now, years=years, events=events)
        done += batch
        if progress:
            progress(done)
    session.execute(text("DROP TABLE bulk_places, bulk_routes, bulk_texts"))
    return BulkResult(created=done, events=written, seconds=time.perf_counter() - started)


def _prepare(session: Session, *, seed: int, places: int) -> None:
    """Partners, places, routes and texts in temporary tables; the random generator seeded."""
    session.execute(text("SELECT setseed(:s)"), {"s": (seed % 1_000_003) / 1_000_003})
    for name, kind, delay, _ in PARTNERS:
        session.execute(
            text("INSERT INTO partners (name, kind, emails, delay_days, active) "
                 "VALUES (:n, :k, '{}', :d, true) ON CONFLICT (name) DO NOTHING"),
            {"n": name, "k": kind, "d": delay},
        )
    quartiers = session.execute(
        text("SELECT id, coalesce(population, 1000) FROM quartiers WHERE geom IS NOT NULL ORDER BY id")
    ).all()
    if not quartiers:
        raise RuntimeError("Aucun périmètre chargé : lancez d'abord `gusp perimeters load`.")
    total = sum(p for _, p in quartiers)
    session.execute(text(
        "CREATE TEMP TABLE bulk_places (outside boolean, quartier_id int, "
        "nearest_id int, distance_m float8, geom geometry(Point, 4326)) ON COMMIT DROP"
    ))
    # Inside: each quartier's share of the places, by population; outside: a ring 10–400 m around.
    inside = round(places * 0.93)
    for position, (quartier_id, population) in enumerate(quartiers):
        count = max(5, round(inside * population / total))
        session.execute(text("""
            INSERT INTO bulk_places (outside, quartier_id, nearest_id, distance_m, geom)
            SELECT false, q.id, NULL, NULL,
                   (ST_Dump(ST_GeneratePoints(ST_Buffer(q.geom, -:inset), :count, :seed))).geom
            FROM quartiers q WHERE q.id = :q
        """), {"q": quartier_id, "count": count, "seed": seed + position, "inset": INSET_DEG})
        ring = max(2, round((places - inside) * population / total))
        session.execute(text("""
            WITH ring AS (
                SELECT (ST_Dump(ST_GeneratePoints(
                           ST_Difference(ST_Buffer(q.geom, 0.004), ST_Buffer(q.geom, :inset)), :count, :seed
                       ))).geom AS geom
                FROM quartiers q WHERE q.id = :q
            )
            INSERT INTO bulk_places (outside, quartier_id, nearest_id, distance_m, geom)
            SELECT true, NULL, n.id,
                   ST_Distance(r.geom::geography, n.geom::geography), r.geom
            FROM ring r
            CROSS JOIN LATERAL (SELECT id, geom FROM quartiers WHERE geom IS NOT NULL
                                ORDER BY geom <-> r.geom LIMIT 1) n
            WHERE NOT EXISTS (SELECT 1 FROM quartiers o WHERE ST_Intersects(o.geom, ST_Buffer(r.geom, :inset)))
        """), {"q": quartier_id, "count": ring, "seed": seed + 1000 + position, "inset": INSET_DEG})
    # Renumber 1..n so that a uniform draw finds a place by equality (a hash join).
    session.execute(text("""
        CREATE TEMP TABLE bulk_places_n ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY random()) AS idx, outside, quartier_id, nearest_id, distance_m, geom
        FROM bulk_places;
        DROP TABLE bulk_places;
        ALTER TABLE bulk_places_n RENAME TO bulk_places;
        ALTER TABLE bulk_places ADD PRIMARY KEY (idx);
        ANALYZE bulk_places;
    """))
    session.execute(text(
        "CREATE TEMP TABLE bulk_routes (category_code text, quartier_id int, partner_id int, delay_days int, "
        "median_days float8, PRIMARY KEY (category_code, quartier_id)) ON COMMIT DROP"
    ))
    partner_ids = [session.scalar(text("SELECT id FROM partners WHERE name = :n"), {"n": p[0]}) for p in PARTNERS]
    for position, (quartier_id, _) in enumerate(quartiers):
        for code, index in ROUTES.items():
            if index in BAILLEURS:
                index = BAILLEURS[position % len(BAILLEURS)]
            session.execute(
                text("INSERT INTO bulk_routes VALUES (:c, :q, :p, :d, :m)"),
                {"c": code, "q": quartier_id, "p": partner_ids[index], "d": PARTNERS[index][2],
                 "m": PARTNERS[index][3]},
            )
    session.execute(text("CREATE TEMP TABLE bulk_texts (code text PRIMARY KEY, texts text[]) ON COMMIT DROP"))
    for code, texts in demo.DESCRIPTIONS.items():
        session.execute(text("INSERT INTO bulk_texts VALUES (:c, :t)"), {"c": code, "t": texts})
    session.execute(text("ANALYZE bulk_routes; ANALYZE bulk_texts"))


def _category_wheel() -> list[str]:
    """100 slots, each category taking as many as its weight (the weights of `gusp.demo` sum to 100)."""
    wheel = [code for code, weight in demo.WEIGHTS.items() for _ in range(weight)]
    assert len(wheel) == 100, "demo.WEIGHTS must sum to 100"
    return wheel


# Days are drawn log-normal: exp(ln(median) + sigma * z), z standard normal (Box–Muller).
_INSERT = """
WITH draw AS MATERIALIZED (
    SELECT 1 + floor(power(random(), 1.7) * :places)::int AS place,
           (CAST(:wheel AS text[]))[1 + floor(random() * 100)::int] AS category_code,
           floor(:days * power(random(), 1.15))::int AS day_back,  -- a little more recent than old
           7 * 3600 + random() * 14 * 3600 AS second_of_day,
           sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_ack,
           sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z_res,
           random() AS u_fate, random() AS u_status, random() AS u_close, random() AS u_priority,
           random() AS u_source, random() AS u_text, random() AS u_reason,
           random() - 0.5 AS jx, random() - 0.5 AS jy, 4 + random() * 31 AS accuracy
    FROM generate_series(1, :batch)
), placed AS (
    SELECT d.*, p.outside, p.quartier_id, p.nearest_id, p.distance_m,
           ST_Translate(p.geom, d.jx * :jitter * 2, d.jy * :jitter * 2) AS geom,
           least((date_trunc('day', CAST(:now AS timestamptz) AT TIME ZONE :tz) - make_interval(days => d.day_back)
                  + make_interval(secs => d.second_of_day)) AT TIME ZONE :tz,
                 CAST(:now AS timestamptz) - interval '10 minutes') AS created_at,
           CASE WHEN d.u_priority < 0.02 THEN 'urgente' WHEN d.u_priority < 0.10 THEN 'haute'
                WHEN d.u_priority < 0.20 THEN 'basse' ELSE 'normale' END AS priority,
           CASE WHEN d.u_fate < 0.03 THEN 'doublon' WHEN d.u_fate < 0.06 THEN 'rejete'
                WHEN d.u_fate < 0.13 THEN 'coordination' WHEN d.u_fate < 0.16 THEN 'oublie'
                WHEN d.u_fate < 0.17 THEN 'en_attente' ELSE 'partenaire' END AS fate,
           r.partner_id, r.delay_days, r.median_days
    FROM draw d
    JOIN bulk_places p ON p.idx = d.place
    JOIN bulk_routes r ON r.category_code = d.category_code AND r.quartier_id = coalesce(p.quartier_id, p.nearest_id)
), timed AS (
    SELECT p.*,
           p.created_at + make_interval(secs => 3600 * exp(ln(5) + 1.1 * p.z_ack)) AS ack_at,
           exp(ln(CASE WHEN p.fate = 'coordination' THEN 1.0 ELSE p.median_days END) + 0.9 * p.z_res) AS res_days
    FROM placed p
), milestones AS (
    SELECT t.*,
           CASE WHEN t.ack_at <= :now AND t.fate <> 'en_attente' THEN t.ack_at END AS acknowledged_at,
           CASE WHEN t.ack_at <= :now AND t.fate IN ('partenaire', 'oublie') THEN t.ack_at END AS assigned_at,
           CASE WHEN t.ack_at <= :now AND t.fate IN ('partenaire', 'coordination')
                     AND t.ack_at + make_interval(secs => 86400 * t.res_days) <= :now
                THEN t.ack_at + make_interval(secs => 86400 * t.res_days) END AS resolved_at
    FROM timed t
), statused AS (
    SELECT m.*,
           CASE WHEN m.resolved_at IS NOT NULL AND m.resolved_at + make_interval(days => 7 + floor(m.u_close * 21)::int) <= :now
                THEN m.resolved_at + make_interval(days => 7 + floor(m.u_close * 21)::int)
                WHEN m.acknowledged_at IS NOT NULL AND m.fate IN ('doublon', 'rejete') THEN m.acknowledged_at
           END AS closed_at
    FROM milestones m
), numbered AS MATERIALIZED (
    SELECT o.*, nextval('report_reference_seq') AS number FROM (SELECT * FROM statused ORDER BY created_at) o
)
INSERT INTO reports (reference, status, source, category_code, description, location, accuracy_m, attribution,
                     quartier_id, nearest_quartier_id, nearest_distance_m, priority, partner_id, due_at,
                     acknowledged_at, assigned_at, resolved_at, closed_at, rejection_reason, similar_count,
                     created_at, updated_at)
SELECT 'GUSP-' || extract(year FROM s.created_at AT TIME ZONE :tz)::int || '-'
           || lpad(s.number::text, greatest(6, length(s.number::text)), '0'),
       CASE WHEN s.acknowledged_at IS NULL THEN 'nouveau'
            WHEN s.fate IN ('doublon', 'rejete') THEN 'rejete'
            WHEN s.closed_at IS NOT NULL THEN 'clos'
            WHEN s.resolved_at IS NOT NULL THEN 'resolu'
            WHEN s.assigned_at IS NOT NULL AND s.u_status < 0.6 THEN 'en_cours'
            ELSE 'pris_en_compte' END,
       CASE WHEN s.u_source < 0.65 THEN 'web' ELSE 'api' END,
       s.category_code,
       t.texts[1 + floor(s.u_text * array_length(t.texts, 1))::int],
       s.geom, round(s.accuracy::numeric, 1)::float8,
       CASE WHEN s.outside THEN 'hors_perimetre' ELSE 'perimetre' END,
       s.quartier_id, s.nearest_id, round(s.distance_m::numeric, 1)::float8,
       s.priority, s.partner_id,
       s.assigned_at + make_interval(days => CASE s.priority WHEN 'urgente' THEN 1
                                                  WHEN 'haute' THEN ceil(s.delay_days / 2.0)::int
                                                  ELSE s.delay_days END),
       s.acknowledged_at, s.assigned_at, s.resolved_at, s.closed_at,
       CASE WHEN s.acknowledged_at IS NULL THEN NULL
            WHEN s.fate = 'doublon' THEN 'doublon'
            WHEN s.fate = 'rejete' THEN (ARRAY['non_fonde', 'hors_competence', 'autre'])[1 + floor(s.u_reason * 3)::int]
       END,
       0, s.created_at, coalesce(s.closed_at, s.resolved_at, s.assigned_at, s.acknowledged_at, s.created_at)
FROM numbered s
JOIN bulk_texts t ON t.code = s.category_code
RETURNING id
"""

# Half the rejections are merged duplicates: each points to an earlier report of its batch.
_MERGE = """
WITH doubles AS (
    SELECT id, greatest(:first, id - 1 - floor(random() * 40)::bigint) AS master
    FROM reports WHERE id BETWEEN :first AND :last AND rejection_reason = 'doublon'
), linked AS (
    UPDATE reports r SET master_report_id = d.master FROM doubles d
    WHERE r.id = d.id AND d.master <> d.id
    RETURNING d.master
)
UPDATE reports m SET similar_count = m.similar_count + c.n
FROM (SELECT master, count(*) AS n FROM linked GROUP BY master) c
WHERE m.id = c.master
"""

_EVENTS = """
INSERT INTO report_events (report_id, kind, at, source, data, note_public)
SELECT id, :kind, created_at, source,
       jsonb_build_object('status', 'nouveau', 'category', category_code, 'attribution', attribution,
                          'quartier_id', quartier_id, 'photos', 0, 'likely_duplicates', '[]'::jsonb, 'demo', true),
       true
FROM reports WHERE id BETWEEN :first AND :last
"""


def _insert_batch(session: Session, *, settings: Settings, batch: int, now: datetime, years: float,
                  events: bool) -> int:
    places = session.scalar(text("SELECT count(*) FROM bulk_places"))
    ids = session.execute(text(_INSERT), {
        "places": places, "wheel": _category_wheel(), "days": int(365 * years), "batch": batch,
        "jitter": JITTER_DEG, "now": now, "tz": settings.timezone,
    }).scalars().all()
    if not ids:
        return 0
    first, last = min(ids), max(ids)
    session.execute(text(_MERGE), {"first": first, "last": last})
    if not events:
        return 0
    result = session.execute(text(_EVENTS), {"kind": states.EventKind.CREATED.value, "first": first, "last": last})
    return result.rowcount


def command(*, settings: Settings, size: int, seed: int = 2026, events: bool = True,
            progress: Callable[[int], None] | None = None) -> BulkResult:
    """What `gusp demo --size N` runs: perimeters, N reports in one transaction, then VACUUM ANALYZE."""
    from gusp import db
    from gusp.geo import perimeters

    with db.command_session(settings.database_url) as session:
        perimeters.load(session=session, path=settings.perimeters_file)
    with db.command_session(settings.database_url) as session:
        result = generate(session=session, settings=settings, size=size, seed=seed, events=events, progress=progress)
    vacuum_analyze(settings=settings)
    return result


def vacuum_analyze(*, settings: Settings) -> None:
    """Fresh statistics for the planner and a visibility map for index-only scans, after a bulk load."""
    from gusp import db

    engine = db.make_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE) reports"))
            conn.execute(text("VACUUM (ANALYZE) report_events"))
    finally:
        engine.dispose()
