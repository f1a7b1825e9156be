"""Signs of life an operator or a load balancer reads: each probe says ok or what is wrong, in French.

`/healthz` only says the process answers; `/readyz` runs the probes below, each bounded in time,
so that a replica whose database or media store is gone is taken out of rotation.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gusp import states
from gusp.models import OutboxMessage
from gusp.models.ops import WorkerHeartbeat

# A fixed, content-addressed key: writing it again is a no-op, and it never names a photo.
PROBE_DATA = b"GUSP storage probe\n"
PROBE_KEY = f"{hashlib.sha256(PROBE_DATA).hexdigest()}.jpg"
_STATEMENT_TIMEOUT_MS = 2000
# The front-end libraries the pages load from /vendor (web/package.json, installed by `npm ci`).
WEB_ASSETS = (
    "leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css",
    "pbf/index.js",
    "swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css",
)


@dataclass
class Probe:
    name: str
    ok: bool
    detail: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxState:
    pending: int
    failed: int
    oldest_pending_age_s: float | None  # how late the oldest message that is due already is


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def database(session: Session) -> Probe:
    try:
        session.execute(text(f"SET LOCAL statement_timeout = {_STATEMENT_TIMEOUT_MS}"))
        session.execute(text("SELECT 1"))
    except Exception as error:  # any driver error: the replica is not ready
        return Probe("base_de_donnees", False, f"base de données injoignable : {type(error).__name__}")
    return Probe("base_de_donnees", True, "base de données joignable")


def storage(store) -> Probe:
    """Write (a no-op once there) and read back the probe file through the storage interface."""
    try:
        store.put(PROBE_KEY, PROBE_DATA)
        if not store.exists(PROBE_KEY):
            return Probe("stockage_photos", False, "le fichier témoin écrit est introuvable")
    except Exception as error:
        return Probe("stockage_photos", False, f"stockage des photos inaccessible : {type(error).__name__}: {error}")
    return Probe("stockage_photos", True, "stockage des photos accessible en écriture")


def web_assets(vendor: Path) -> Probe:
    """The pages' libraries are on disk: without them the maps (and /docs) do not load."""
    missing = [asset for asset in WEB_ASSETS if not (vendor / asset).is_file()]
    if missing:
        return Probe("pages_web", False, f"bibliothèques web absentes ({', '.join(missing)}) : "
                     "lancez `bash scripts/setup_web.sh` (npm ci dans web/)", {"absentes": missing})
    return Probe("pages_web", True, "bibliothèques web présentes")


def outbox_state(session: Session, *, now: datetime) -> OutboxState:
    pending, failed, oldest = session.execute(
        select(
            func.count().filter(OutboxMessage.status == states.OutboxStatus.PENDING),
            func.count().filter(OutboxMessage.status == states.OutboxStatus.FAILED),
            func.min(OutboxMessage.available_at).filter(
                OutboxMessage.status == states.OutboxStatus.PENDING, OutboxMessage.available_at <= now
            ),
        )
    ).one()
    return OutboxState(pending, failed, None if oldest is None else max(0.0, (now - oldest).total_seconds()))


def outbox(session: Session, *, now: datetime, max_lag: timedelta) -> Probe:
    """Messages due for longer than max_lag mean no worker is sending (or the mail relay is down)."""
    state = outbox_state(session, now=now)
    data = {"en_attente": state.pending, "en_echec": state.failed, "retard_s": state.oldest_pending_age_s}
    if state.oldest_pending_age_s is not None and state.oldest_pending_age_s > max_lag.total_seconds():
        minutes = round(state.oldest_pending_age_s / 60)
        return Probe("boite_envoi", False, f"un message attend depuis {minutes} min : le worker tourne-t-il ?", data)
    return Probe("boite_envoi", True, f"{state.pending} message(s) en attente, {state.failed} en échec", data)


def last_heartbeat(session: Session) -> datetime | None:
    return session.scalar(select(func.max(WorkerHeartbeat.seen_at)))


def beat(session: Session, *, worker: str, now: datetime | None = None) -> None:
    """Record that this worker is alive (one row per worker, upserted)."""
    from sqlalchemy.dialects.postgresql import insert

    now = now or datetime.now(UTC)
    statement = insert(WorkerHeartbeat).values(worker=worker, started_at=now, seen_at=now, cycles=1)
    session.execute(statement.on_conflict_do_update(
        index_elements=[WorkerHeartbeat.worker],
        set_={"seen_at": now, "cycles": WorkerHeartbeat.cycles + 1},
    ))
