"""HTTP manners of the Open311 router: HEAD wherever GET, OPTIONS, CORS for the public GETs.

Browsers' JavaScript may read the GET answers (public data, no cookie involved) from the origins
of `open311_cors_origins` ("*": any). POSTs carry a client's secret key and are not opened to
browsers: a preflight for them gets no CORS header, and the browser stops there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi import Request, Response
from starlette.routing import BaseRoute

from gusp.config import Settings

READ_METHODS = ("GET", "HEAD")
PREFLIGHT_MAX_AGE_S = 86400


def allowed_methods(routes: Iterable[BaseRoute], path: str) -> list[str]:
    """The methods the router's real routes answer at `path` (catch-alls excluded), plus OPTIONS."""
    methods: set[str] = set()
    for route in routes:
        regex = getattr(route, "path_regex", None)
        if regex is None or "{rest:path}" in getattr(route, "path", "") or not regex.match(path):
            continue
        methods |= set(getattr(route, "methods", None) or ())
    if not methods:
        return []
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    return [m for m in order if m in methods] + ["OPTIONS"]


def _origin(request: Request, settings: Settings) -> str | None:
    """What to answer in Access-Control-Allow-Origin, or None when the origin is not allowed."""
    origin = request.headers.get("origin")
    if not origin:
        return None
    allowed: Sequence[str] = settings.open311_cors_origins
    if "*" in allowed:
        return "*"
    return origin if origin.rstrip("/") in {a.rstrip("/") for a in allowed} else None


def finish(request: Request, response: Response, settings: Settings) -> Response:
    """CORS headers on a GET or HEAD answer (errors included); no body for HEAD."""
    if request.method in READ_METHODS:
        if (allow := _origin(request, settings)) is not None:
            response.headers["Access-Control-Allow-Origin"] = allow
        if "*" not in settings.open311_cors_origins:
            response.headers.append("Vary", "Origin")
    if request.method == "HEAD" and response.body:
        headers = dict(response.headers)
        response = Response(b"", status_code=response.status_code, headers=headers)
    return response


def options(request: Request, methods: list[str], settings: Settings) -> Response:
    """204 with `Allow`; for a CORS preflight of a GET from an allowed origin, its permission too."""
    response = Response(status_code=204, headers={"Allow": ", ".join(methods)})
    wanted = request.headers.get("access-control-request-method", "").upper()
    allow = _origin(request, settings)
    if wanted in READ_METHODS and allow is not None:
        response.headers["Access-Control-Allow-Origin"] = allow
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        if requested := request.headers.get("access-control-request-headers"):
            response.headers["Access-Control-Allow-Headers"] = requested  # no credentials: nothing to protect
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
    if "*" not in settings.open311_cors_origins:
        response.headers["Vary"] = "Origin"
    return response
