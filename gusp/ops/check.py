"""`gusp check`: is this installation ready for production? A French report, one line per check.

Each check says OK, ATTENTION (works, but look at it) or BLOQUANT (must be fixed before opening
the service); the command exits non-zero when anything blocks.
"""

from __future__ import annotations

import enum
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gusp import db, migrate, storage
from gusp.config import Settings
from gusp.ops import health

_MAX_CLOCK_SKEW_S = 5.0


class Level(enum.StrEnum):
    OK = "OK"
    WARNING = "ATTENTION"
    BLOCKER = "BLOQUANT"


@dataclass(frozen=True)
class Finding:
    level: Level
    subject: str
    detail: str


def run(settings: Settings) -> list[Finding]:
    """Every check, in the order an operator fixes things: database first, then what depends on it."""
    findings: list[Finding] = []
    for check in (_environment, _database, _media, _smtp, _public_url, _web_assets, _timezone):
        try:
            findings.extend(check(settings))
        except Exception as error:  # a check that crashes is a finding, not a traceback
            findings.append(Finding(Level.BLOCKER, check.__name__.strip("_"), f"{type(error).__name__}: {error}"))
    return findings


def report(findings: list[Finding]) -> str:
    width = max(len(level.value) for level in Level)
    lines = [f"[{f.level.value:<{width}}] {f.subject} : {f.detail}" for f in findings]
    blockers = sum(f.level is Level.BLOCKER for f in findings)
    warnings = sum(f.level is Level.WARNING for f in findings)
    verdict = ("Prêt pour la production." if not blockers and not warnings
               else f"{blockers} point(s) bloquant(s), {warnings} point(s) à regarder.")
    return "\n".join([*lines, "", verdict])


def _environment(settings: Settings) -> Iterator[Finding]:
    if settings.development:
        yield Finding(Level.WARNING, "GUSP_ENV", "development : réglage d'essai, pas de production")
    else:
        yield Finding(Level.OK, "GUSP_ENV", settings.env)


def _database(settings: Settings) -> Iterator[Finding]:
    engine = db.make_engine(settings.database_url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            yield Finding(Level.OK, "base de données", f"joignable ({settings.database_url_safe})")
            current = MigrationContext.configure(connection).get_current_revision()
            head = ScriptDirectory.from_config(migrate.alembic_config(settings.database_url)).get_current_head()
            if current == head:
                yield Finding(Level.OK, "schéma", f"à jour (révision {head})")
            else:
                yield Finding(Level.BLOCKER, "schéma", f"révision {current or 'aucune'} au lieu de {head} : lancez `gusp db upgrade`")
            postgis = connection.scalar(text(
                "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"))
            if postgis is None:
                yield Finding(Level.BLOCKER, "PostGIS", "extension absente : lancez `gusp db upgrade`")
            elif int(postgis.split(".")[0]) < 3:
                yield Finding(Level.BLOCKER, "PostGIS", f"version {postgis} : GUSP demande PostGIS 3")
            else:
                yield Finding(Level.OK, "PostGIS", f"version {postgis}")
            yield _connections(settings, connection)
            skew = abs((connection.scalar(text("SELECT now()")) - datetime.now(UTC)).total_seconds())
            if skew > _MAX_CLOCK_SKEW_S:
                yield Finding(Level.WARNING, "horloge", f"{skew:.0f} s d'écart avec le serveur PostgreSQL : synchronisez (NTP)")
    except Exception as error:
        yield Finding(Level.BLOCKER, "base de données", f"injoignable ({settings.database_url_safe}) : {type(error).__name__}")
    finally:
        engine.dispose()


def _connections(settings: Settings, connection) -> Finding:
    """The web processes' connections at their busiest against what PostgreSQL allows."""
    per_process = 2 * settings.db_pool_size + settings.intake_lane_connections  # pool + bursts + intake lane
    needed = settings.web_workers * per_process
    allowed = connection.scalar(text(
        "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"))
    detail = (f"jusqu'à {needed} connexions pour le web ({settings.web_workers} processus × (2 × GUSP_DB_POOL_SIZE "
              f"{settings.db_pool_size} + GUSP_INTAKE_LANE_CONNECTIONS {settings.intake_lane_connections})), "
              f"{allowed} permises par PostgreSQL")
    if needed > allowed:
        return Finding(Level.WARNING, "connexions", f"{detail} : baissez ces réglages ou montez max_connections "
                       "(le worker, les sauvegardes et les répliques en demandent aussi)")
    return Finding(Level.OK, "connexions", detail)


def _media(settings: Settings) -> Iterator[Finding]:
    probe = health.storage(storage.from_settings(settings))
    yield Finding(Level.OK if probe.ok else Level.BLOCKER, "stockage des photos", probe.detail)


def _smtp(settings: Settings) -> Iterator[Finding]:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    started = time.monotonic()
    try:
        factory: Callable[..., smtplib.SMTP] = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
        with factory(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as server:
            server.ehlo()
            if settings.smtp_starttls:
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if settings.smtp_user:
                server.login(settings.smtp_user, settings.smtp_password)
            server.noop()
    except (OSError, smtplib.SMTPException) as error:
        yield Finding(Level.BLOCKER, "serveur de courrier", f"{where} injoignable : {type(error).__name__}: {error}")
        return
    yield Finding(Level.OK, "serveur de courrier", f"{where} répond ({(time.monotonic() - started) * 1000:.0f} ms)")


def _public_url(settings: Settings) -> Iterator[Finding]:
    url = settings.public_url.strip()
    parts = urlsplit(url)
    if not url and settings.development:
        yield Finding(Level.WARNING, "GUSP_PUBLIC_URL",
                      "vide (GUSP_ENV=development) : les liens des e-mails sont relatifs, donc pas cliquables")
    elif not url:
        yield Finding(Level.BLOCKER, "GUSP_PUBLIC_URL",
                      "vide : les liens des e-mails ne seraient pas cliquables et `gusp serve` refuse de démarrer")
    elif parts.scheme != "https" or not parts.hostname:
        yield Finding(Level.BLOCKER, "GUSP_PUBLIC_URL", f"« {url} » doit être une adresse https:// complète")
    else:
        yield Finding(Level.OK, "GUSP_PUBLIC_URL", url)


def _web_assets(settings: Settings) -> Iterator[Finding]:
    probe = health.web_assets(settings.web_vendor_dir)
    yield Finding(Level.OK if probe.ok else Level.BLOCKER, "pages web", probe.detail)


def _timezone(settings: Settings) -> Iterator[Finding]:
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield Finding(Level.BLOCKER, "fuseau horaire", f"« {settings.timezone} » inconnu (paquet tzdata ?)")
        return
    yield Finding(Level.OK, "fuseau horaire", f"{settings.timezone} (il est {datetime.now(zone):%H:%M} à {settings.timezone})")
