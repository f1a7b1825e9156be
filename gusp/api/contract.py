"""What each operation may answer, declared in OpenAPI from what its dependencies can raise.

A dependency that refuses requests says so once with `@raises(401, 403)`; every operation that
depends on it, directly or not, declares those statuses — routes added later included. Structural
answers are added too: 404 where the path names a resource, 413 where a body is read (the body
limit), 422 where anything is validated. Operations of a router with its own error format (Open311:
`plain_errors = True` on its route class) declare the statuses without a JSON body schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant

from gusp import schemas

F = TypeVar("F", bound=Callable[..., Any])

_DESCRIPTIONS = {
    400: "Requête illisible ou caractère interdit.",
    401: "Non connecté, ou jeton d'API invalide.",
    403: "Droit insuffisant, ou jeton CSRF absent.",
    404: "Introuvable (ou invisible pour l'appelant).",
    409: "Conflit avec l'état actuel.",
    413: "Envoi trop volumineux.",
    415: "Type de contenu non accepté.",
    422: "Champ invalide.",
    429: "Trop de demandes : réessayer après le délai de l'en-tête Retry-After.",
    503: "Service momentanément surchargé : réessayer après le délai de l'en-tête Retry-After.",
}
_ATTRIBUTE = "__gusp_raises__"


def raises(*codes: int) -> Callable[[F], F]:
    """Mark a dependency with the HTTP statuses it may refuse a request with."""

    def mark(function: F) -> F:
        setattr(function, _ATTRIBUTE, frozenset(codes) | getattr(function, _ATTRIBUTE, frozenset()))
        return function

    return mark


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def error_codes(dependant: Dependant) -> set[int]:
    """Every refusal an operation may give, from its dependency tree and its parameters."""
    codes: set[int] = set()
    for node in _walk(dependant):
        codes |= getattr(node.call, _ATTRIBUTE, frozenset())
        if node.path_params:
            codes.add(404)
        if node.body_params:
            codes |= {413, 422}
        if node.query_params or node.header_params or node.cookie_params or node.path_params:
            codes.add(422)
    return codes


def _response(code: int, *, plain: bool, retry: bool) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _DESCRIPTIONS.get(code, "Erreur.")}
    if not plain:
        response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    if retry:
        response["headers"] = {"Retry-After": {"description": "Secondes à attendre.", "schema": {"type": "integer"}}}
    return response


def install(app: FastAPI) -> None:
    """Wrap `app.openapi` so that the generated document declares every operation's refusals."""
    generate = app.openapi
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        spec = generate()
        if done and done[-1] == id(spec):
            return spec
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorBody", schemas.ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"))
        for context in routing.iter_route_contexts(app.routes):
            if not isinstance(context.original_route, routing.APIRoute) or not context.include_in_schema:
                continue
            plain = getattr(context.original_route, "plain_errors", False)
            operations = spec.get("paths", {}).get(context.path_format, {})
            for method in context.methods or ():
                operation = operations.get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for code in sorted(error_codes(context.dependant)):
                    responses.setdefault(str(code), _response(code, plain=plain, retry=code in {429, 503}))
        done.append(id(spec))
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
