"""Prometheus metrics: request latency by route, reports and photos, the outbox, the workers.

Counters and histograms live in the process (with several uvicorn workers, set
PROMETHEUS_MULTIPROC_DIR — the systemd unit does — and every process's figures are summed at
scrape time); the outbox and worker gauges are read from the database when scraped (see scrape).
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
