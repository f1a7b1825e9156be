"""Health, readiness and metrics for operators: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

import hmac
import ipaddress
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gusp import errors
from gusp.api import deps
from gusp.ops import health, scrape

router = APIRouter(tags=["exploitation"])


@router.get("/healthz", summary="Le processus répond")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Prêt à servir : base de données, stockage des photos, boîte d'envoi, bibliothèques web",
            responses={503: {"description": "Une dépendance manque : le détail dit laquelle."}})
def readyz(session: deps.SessionDep, settings: deps.SettingsDep, storage: deps.StorageDep) -> JSONResponse:
    probes = [health.database(session)]
    if probes[0].ok:
        probes.append(health.outbox(session, now=datetime.now(UTC),
                                    max_lag=timedelta(minutes=settings.ready_max_outbox_lag_minutes)))
    probes.append(health.storage(storage))
    probes.append(health.web_assets(settings.web_vendor_dir))
    ready = all(p.ok for p in probes)
    body = {"status": "ok" if ready else "indisponible",
            "checks": {p.name: {"ok": p.ok, "detail": p.detail, **p.data} for p in probes}}
    return JSONResponse(body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


@router.get("/metrics", summary="Métriques Prometheus (jeton ou adresse locale)", response_class=Response,
            responses={401: {"description": "Jeton manquant ou faux."}, 403: {"description": "Adresse non locale."}})
def read_metrics(request: Request, session: deps.SessionDep, settings: deps.SettingsDep) -> Response:
    _require_scraper(request, settings.metrics_token)
    return Response(scrape.exposition(session), media_type=scrape.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _require_scraper(request: Request, token: str) -> None:
    """With GUSP_METRICS_TOKEN set, the scraper sends it as a bearer token; without, only local clients read."""
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise errors.Unauthenticated("jeton_metriques", "Jeton des métriques manquant ou invalide.")
        return
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise errors.Forbidden("metriques_locales", "Les métriques ne sont lisibles que depuis la machine (ou avec GUSP_METRICS_TOKEN).")
