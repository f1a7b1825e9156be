"""Prometheus metrics: request latency by route, reports and photos, the outbox, the workers.

Counters and histograms live in the process (with several uvicorn workers, set
PROMETHEUS_MULTIPROC_DIR — the systemd unit does — and every process's figures are summed at
scrape time); the outbox and worker gauges are read from the database at each scrape, so any
replica answers the same.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gusp.ops import health

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUEST_SECONDS = Histogram(
    "gusp_http_request_duration_seconds", "Durée des requêtes HTTP, par route",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REPORTS_CREATED = Counter("gusp_reports_created_total", "Signalements créés, par canal", ["source"])
PHOTOS_PROCESSED = Counter("gusp_photos_processed_total", "Photos traitées, par format reçu", ["format"])
PHOTO_SECONDS = Histogram(
    "gusp_photo_processing_seconds", "Durée du traitement d'une photo (décodage, floutage, réduction, encodage)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16),
)


class RequestTimer:
    """Times every HTTP request and labels it by its route template (never the raw path: no ids, no tokens)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(autre)"
            REQUEST_SECONDS.labels(scope["method"], template, f"{status // 100}xx").observe(time.perf_counter() - start)


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every process's when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


class _DatabaseGauges:
    """Gauges computed from the database when scraped: the same on every replica."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session, self.now = session, now

    def collect(self):
        state = health.outbox_state(self.session, now=self.now)
        yield GaugeMetricFamily("gusp_outbox_pending", "Messages en attente d'envoi", value=state.pending)
        yield GaugeMetricFamily("gusp_outbox_failed", "Messages en échec définitif", value=state.failed)
        yield GaugeMetricFamily(
            "gusp_outbox_oldest_due_seconds", "Retard du plus ancien message dû (0 si aucun)",
            value=state.oldest_pending_age_s or 0.0,
        )
        seen = health.last_heartbeat(self.session)
        yield GaugeMetricFamily(
            "gusp_worker_last_seen_seconds", "Secondes depuis le dernier signe de vie d'un worker (-1 : jamais)",
            value=(self.now - seen).total_seconds() if seen else -1.0,
        )


def exposition(session: Session, *, now: datetime | None = None) -> bytes:
    """The text a Prometheus server scrapes: the process metrics, then the database gauges."""
    database = CollectorRegistry()
    database.register(_DatabaseGauges(session, now or datetime.now(UTC)))
    return generate_latest(process_registry()) + generate_latest(database)
