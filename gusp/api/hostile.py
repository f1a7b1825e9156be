"""Hostile input, refused for every route at once: NUL characters, ids beyond the columns, DB data errors.

- `refuse_nul` is an app-wide dependency: a NUL character in the path, the query, a JSON body or
  a form's text fields is refused with 400 `caractere_nul` (PostgreSQL text cannot hold one, and a
  retried 5xx would come back for ever). Being a dependency, its error takes the form of the
  route's own errors (Open311 answers in its format).
- (ids and days are bounded by the shared types of `gusp.bounds`.)
- `install` maps what still reaches PostgreSQL as bad data (SQLSTATE class 22: a number out of
  range, a malformed value) to 422 instead of a 500, for routes that forget a bound.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from gusp import errors
from gusp.api import contract

_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nul_refused(where: str | None = None) -> errors.BadRequest:
    return errors.BadRequest(
        "caractere_nul", "Le caractère nul (U+0000) n'est accepté dans aucun champ.", field=where
    )


def _has_nul(*texts: str) -> bool:
    return any("\x00" in t for t in texts)


@contract.raises(400)
async def refuse_nul(request: Request) -> None:
    """App-wide dependency: no NUL anywhere in what the client sent."""
    if _has_nul(request.url.path, *request.path_params.values()):
        raise nul_refused()
    for name, value in request.query_params.multi_items():
        if _has_nul(name, value):
            raise nul_refused(name.replace("\x00", "") or None)
    if request.method in {"GET", "HEAD", "OPTIONS", "DELETE"} and not request.headers.get("content-length"):
        return
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        body = await request.body()  # already read and cached by FastAPI when the route takes a JSON body
        if b"\x00" in body or _JSON_NUL.search(body):
            raise nul_refused()
    elif media_type in _FORM_TYPES:
        try:
            form = await request.form()  # parsed once: the route gets this same parsed form
        except Exception:  # noqa: BLE001 - an unreadable form is the route's own 400/422 to give
            return
        for name, value in form.multi_items():
            if _has_nul(name) or (isinstance(value, str) and _has_nul(value)):
                raise nul_refused(name.replace("\x00", "") or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(sa_exc.DataError)
    async def _data_error(request: Request, exc: sa_exc.DataError) -> JSONResponse:
        text = str(exc.orig)
        if "NUL" in text:
            error: errors.GuspError = nul_refused()
        elif "out of range" in text:
            error = errors.Unprocessable("valeur_hors_limites", "Une valeur numérique dépasse les limites admises.")
        else:
            error = errors.Unprocessable("valeur_invalide", "Une valeur envoyée n'est pas valide.")
        return JSONResponse(error.body(), status_code=error.status)
