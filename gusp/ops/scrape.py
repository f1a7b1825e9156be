"""What `/metrics` answers: every process's counters, then gauges read from the database.

The gauges are computed at each scrape, so every replica answers the same for the outbox and
the workers.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session

from gusp.ops import health

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every process's when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
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
