"""One place where errors become responses: `{"code", "message"}` in French, never a bare 500."""

from __future__ import annotations

import logging
import typing

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import core_schema
from starlette.exceptions import HTTPException

from gusp import errors
from gusp.api import security_headers

log = logging.getLogger(__name__)

_PYDANTIC_TYPES = frozenset(typing.get_args(core_schema.ErrorType))

_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("requete_invalide", "La requête est illisible."),
    401: ("non_authentifie", "Vous devez vous connecter."),
    403: ("interdit", "Vous n'avez pas le droit de faire cela."),
    404: ("introuvable", "Cette adresse n'existe pas."),
    405: ("methode_non_autorisee", "Cette méthode n'est pas permise ici."),
    406: ("format_non_disponible", "Ce format de réponse n'est pas disponible."),
    413: ("requete_trop_lourde", "L'envoi est trop volumineux."),
    415: ("type_non_supporte", "Ce type de contenu n'est pas accepté."),
}


def _plural(n: object, word: str) -> str:
    return f"{n} {word}{'s' if isinstance(n, int) and n > 1 else ''}"


def _french(error: dict) -> tuple[str, str]:
    """Stable code and French message for one pydantic error."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "champ_manquant", "Ce champ est obligatoire."
    if kind in {"float_parsing", "float_type", "int_parsing", "int_type", "int_from_float", "finite_number"}:
        return "nombre_invalide", "Un nombre est attendu."
    if kind in {"bool_parsing", "bool_type"}:
        return "booleen_invalide", "Une valeur oui/non est attendue (true ou false)."
    if kind in {"greater_than_equal", "greater_than"}:
        return "valeur_hors_limites", f"La valeur doit être supérieure ou égale à {ctx.get('ge', ctx.get('gt'))}."
    if kind in {"less_than_equal", "less_than"}:
        return "valeur_hors_limites", f"La valeur doit être inférieure ou égale à {ctx.get('le', ctx.get('lt'))}."
    if kind == "string_too_long":
        return "texte_trop_long", f"Ce texte dépasse {_plural(ctx.get('max_length'), 'caractère')}."
    if kind == "string_too_short":
        return "texte_trop_court", f"Ce texte doit compter au moins {_plural(ctx.get('min_length'), 'caractère')}."
    if kind == "enum":
        return "valeur_inconnue", f"Valeur inconnue ; valeurs possibles : {ctx.get('expected')}."
    if kind in {"json_invalid", "model_attributes_type", "dict_type"}:
        return "requete_invalide", "Le corps de la requête est illisible."
    if kind not in _PYDANTIC_TYPES:
        # Our own PydanticCustomError: its type is the stable code, its message is French.
        return kind, error["msg"]
    return "champ_invalide", "Valeur invalide."


def _field(error: dict) -> str | None:
    ctx_field = (error.get("ctx") or {}).get("field")
    if ctx_field:
        return str(ctx_field)
    names = [part for part in error.get("loc", ()) if isinstance(part, str) and part not in {"body", "query", "path", "header"}]
    return names[-1] if names else None


def validation_body(exc: RequestValidationError) -> dict[str, object]:
    problems = []
    for error in exc.errors():
        code, message = _french(error)
        problems.append(errors.Unprocessable(code, message, field=_field(error)))
    return errors.InvalidFields(problems).body()


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.GuspError)
    async def _domain(request: Request, exc: errors.GuspError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, errors.GuspError):
            cause = exc.__cause__
            return JSONResponse(cause.body(), status_code=cause.status, headers=cause.headers())
        code, message = _HTTP_CODES.get(exc.status_code, ("erreur", "La requête n'a pas pu aboutir."))
        return JSONResponse({"code": code, "message": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"code": "erreur_interne", "message": "Une erreur interne est survenue ; rien n'a été enregistré."},
            status_code=500,
            # The server closes the connection after an unexpected error: say so, so that the client
            # reads a complete answer instead of a dropped connection.
            # Starlette sends this answer outside every middleware: it carries the security
            # headers itself.
            headers={"Connection": "close", "Cache-Control": "no-store",
                     **security_headers.fixed_headers(request.app.state.settings)},
        )
