"""THE list of what is served without sign-in (BRIEF rule 7), and how to walk the app's routes.

`DATA` are the surfaces that show reports: each goes through gusp.public, and the leak test fetches
every one of them. `NON_DATA` are the routes reachable without sign-in that show no report: pages
(static HTML whose data comes from the JSON surfaces), referentials, health, sign-in. A new route
reachable without sign-in fails `test_every_public_route_is_listed` until it is added to one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, routing
from starlette.routing import Route

from gusp.api import auth_deps


@dataclass(frozen=True)
class Seed:
    """What the leak test planted: the public ways in, and what must never come out."""

    references: list[str]
    open311_token: str
    point: tuple[float, float]  # (lat, lon) of an ordinary report, for nearby
    sensitive_point: tuple[float, float]
    forbidden: list[str]  # phones, e-mails, names, internal notes, hidden keys, exact places
    private_keys: list[str]  # renditions that /media must refuse
    public_keys: list[str]  # renditions that /media must serve


Fetch = Callable[[Seed], list[str]]  # the URLs to GET for a surface


def _formats(path: str) -> list[str]:
    return [path.replace("{fmt}", "json"), path.replace("{fmt}", "xml")]


# (method, routed path) -> the requests that exercise it; POST surfaces are exercised by the seeding
# itself (their answers join the checked bodies).
DATA: dict[tuple[str, str], Fetch | None] = {
    ("GET", "/api/v1/reports/{reference}"): lambda s: [f"/api/v1/reports/{r}" for r in s.references],
    ("GET", "/api/v1/reports/nearby"): lambda s: [
        f"/api/v1/reports/nearby?category={c}&lat={lat}&lon={lon}"
        for c in ("proprete", "tranquillite") for lat, lon in (s.point, s.sensitive_point)
    ],
    ("POST", "/api/v1/reports"): None,
    ("GET", "/suivi/{reference}"): lambda s: [f"/suivi/{r}" for r in s.references],
    ("GET", "/open311/v2/requests.{fmt}"): lambda s: _formats("/open311/v2/requests.{fmt}"),
    ("HEAD", "/open311/v2/requests.{fmt}"): lambda s: [],
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): lambda s: [
        u for r in s.references for u in _formats(f"/open311/v2/requests/{r}.{{fmt}}")],
    ("HEAD", "/open311/v2/requests/{service_request_id}.{fmt}"): lambda s: [],
    ("GET", "/open311/v2/servicerequestupdates.{fmt}"): lambda s: _formats("/open311/v2/servicerequestupdates.{fmt}"),
    ("HEAD", "/open311/v2/servicerequestupdates.{fmt}"): lambda s: [],
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): lambda s: _formats(f"/open311/v2/tokens/{s.open311_token}.{{fmt}}"),
    ("HEAD", "/open311/v2/tokens/{token}.{fmt}"): lambda s: [],
    ("POST", "/open311/v2/requests.{fmt}"): None,
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): None,
    ("GET", "/media/{key}"): lambda s: [],  # checked key by key: private keys 404, public ones served
}

NON_DATA: dict[tuple[str, str], str] = {
    **{("GET", p): "page: static HTML, its data comes from the JSON surfaces" for p in (
        "/", "/suivi", "/connexion", "/reinitialiser", "/gestion", "/partenaire", "/carte", "/docs", "/statistiques",
        "/dossiers", "/compte", "/gestion/comptes", "/gestion/courriers",
        "/sw.js", "/config.js")},
    ("GET", "/openapi.json"): "API description",
    ("GET", "/healthz"): "health",
    ("GET", "/readyz"): "readiness",
    ("GET", "/metrics"): "request and queue counters, no report data",
    ("GET", "/api/v1/categories"): "referential",
    ("GET", "/api/v1/quartiers"): "referential (perimeters)",
    ("POST", "/api/v1/auth/login"): "sign-in",
    ("POST", "/api/v1/auth/logout"): "sign-out",
    ("GET", "/api/v1/auth/session"): "signed in or not: {authenticated: false} without a session",
    ("POST", "/api/v1/auth/password-reset"): "reset request",
    ("POST", "/api/v1/auth/password-reset/confirm"): "reset",
    **{(m, "/open311/discovery.{fmt}"): "Open311 discovery" for m in ("GET", "HEAD")},
    **{(m, "/open311/v2/services.{fmt}"): "Open311 categories" for m in ("GET", "HEAD")},
    **{(m, "/open311/v2/services/{service_code}.{fmt}"): "Open311 category" for m in ("GET", "HEAD")},
    **{(m, "/open311/{rest}"): "Open311 errors and CORS preflight"
       for m in ("OPTIONS", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")},
    ("MOUNT", "/static"): "front-end files",
    ("MOUNT", "/vendor"): "front-end libraries from npm",
}


def _calls(dependant) -> set:
    found = set()
    for sub in dependant.dependencies:
        found.add(sub.call)
        found |= _calls(sub)
    return found


def public_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route that answers without sign-in; mounts as ("MOUNT", path)."""
    found: set[tuple[str, str]] = set()
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, routing.APIRoute):
            if auth_deps.get_current_principal in _calls(context.dependant):
                continue
            found |= {(m, context.path_format.replace(":path", "")) for m in context.methods or ()}
        elif isinstance(route, Route):  # a plain starlette route (/openapi.json)
            found |= {(m, context.path_format) for m in route.methods or () if m != "HEAD"}
        else:
            found.add(("MOUNT", context.path_format.removesuffix("/{path}")))
    return found
