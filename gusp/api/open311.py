"""Open311 GeoReport v2 under /open311/v2, in JSON and XML, with its own error format.

Every answer of this router, errors included, is a GeoReport document in the format named by
the URL's extension (XML, the spec's required format, when there is none). HTTP statuses follow
the spec: 403 for a missing or invalid api_key, 404 for what does not exist, 400 for anything
else — never a 500. The body lists every problem as `{code, description}`, descriptions in French.
HEAD answers wherever GET does, OPTIONS says what is allowed, GETs carry CORS headers
(`gusp.api.open311_http`). POSTs honour `Idempotency-Key` (`gusp.open311.idempotency`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from gusp import db, errors
from gusp.api import deps, open311_http
from gusp.open311 import comments, formats, idempotency, query, service_requests, services, submit, updates

log = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-04T00:00:00+01:00"  # when this endpoint's services and definitions last changed shape
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_GENERAL_ERROR = "Erreur générale du service Open311 de GUSP ; rien n'a été enregistré. Réessayez plus tard."


def _format_of(request: Request) -> formats.Format:
    """The format of the answer, errors included: the URL's extension, XML when there is none."""
    fmt = request.path_params.get("fmt") or request.url.path.rsplit("/", 1)[-1].rpartition(".")[2]
    try:
        return formats.Format(str(fmt).lower())
    except ValueError:
        return formats.Format.XML


def _status(error: errors.GuspError) -> int:
    if isinstance(error, errors.TooManyRequests):
        return 429
    if isinstance(error, errors.Forbidden):
        return 403
    if isinstance(error, errors.NotFound):
        return 404
    if isinstance(error, errors.ServiceUnavailable):
        return 503  # busy decoding photos: the client should send it again later
    return 400


def error_response(request: Request, status: int, descriptions: list[str],
                   headers: dict[str, str] | None = None) -> Response:
    fmt = _format_of(request)
    document = formats.error_document([(status, d) for d in descriptions])
    return Response(formats.render(document, root="errors", fmt=fmt), status_code=status,
                    media_type=formats.MEDIA_TYPES[fmt], headers=headers)


def _descriptions(error: errors.GuspError) -> list[str]:
    if isinstance(error, errors.InvalidFields):
        return [e.message for e in error.errors]
    return [error.message]


class Open311Route(APIRoute):
    """Turns every failure of the route into the spec's error document."""

    plain_errors = True  # gusp.api.contract: its errors are GeoReport documents, not `{code, message}`

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except errors.GuspError as error:
                response = error_response(request, _status(error), _descriptions(error), error.headers())
                if allow := error.details.get("allow"):
                    response.headers["Allow"] = str(allow)
                response.headers.update(error.headers())  # Retry-After of a 429
            except RequestValidationError:
                response = error_response(request, 400, ["La requête est invalide : vérifiez ses paramètres."])
            except HTTPException as error:
                status = 404 if error.status_code == 404 else 400
                response = error_response(request, status, ["La requête est illisible." if status == 400
                                                            else "Cette adresse n'existe pas dans l'API Open311."])
            except Exception:
                log.exception("open311: unexpected error on %s %s", request.method, request.url.path)
                response = error_response(request, 400, [_GENERAL_ERROR])
            return open311_http.finish(request, response, request.app.state.settings)

        return route


router = APIRouter(prefix="/open311", tags=["Open311 GeoReport v2"], route_class=Open311Route)
_ERROR_DOC = {"description": "Erreurs au format Open311 : liste de {code, description}, en français."}
_READ_ERRORS: dict[int | str, dict[str, str]] = {400: _ERROR_DOC, 404: _ERROR_DOC}
_WRITE_ERRORS: dict[int | str, dict[str, str]] = {400: _ERROR_DOC, 403: _ERROR_DOC, 404: _ERROR_DOC}


def _read(path: str, *, summary: str):
    """A GET route, and the same endpoint for HEAD (kept out of the OpenAPI document: one operation each)."""
    def register(endpoint):
        router.add_api_route(path, endpoint, methods=["GET"], summary=summary, responses=_READ_ERRORS)
        router.add_api_route(path, endpoint, methods=["HEAD"], summary=summary, include_in_schema=False)
        return endpoint
    return register


def _answer(document: object, *, root: str, fmt: str, replayed: bool = False) -> Response:
    chosen = formats.parse(fmt)
    headers = {idempotency.REPLAYED: "true"} if replayed else None
    return Response(formats.render(document, root=root, fmt=chosen), media_type=formats.MEDIA_TYPES[chosen],
                    headers=headers)


def _base(settings) -> str:
    return service_requests.media_base(settings)


def _arg(request: Request, name: str) -> str | None:
    """A single optional argument: empty is the same as absent."""
    return query.blank_to_none(request.query_params.get(name))


async def read_form(request: Request) -> submit.Form:
    """The POST body: text fields as lists of values per name, and file parts (photos)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        raise errors.BadRequest(
            "format_envoi_invalide",
            "Envoyez la demande en application/x-www-form-urlencoded (ou multipart/form-data).",
        )
    form = await request.form()
    fields: dict[str, list[str]] = {}
    files: list[tuple[str, bytes]] = []
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
        else:
            files.append((key, await value.read()))
    return submit.Form(fields=fields, files=files)


@_read("/discovery.{fmt}", summary="Découverte du service (Service Discovery)")
def discovery(fmt: str, settings: deps.SettingsDep) -> Response:
    """Where the GeoReport v2 endpoint is, in which formats, and how to get a key."""
    document = {
        "changeset": CHANGESET,
        "contact": "Service Politique de la Ville, GUSP : voir les coordonnées sur le site de la Ville.",
        "key_service": "Une clé d'API (api_key) par application cliente est délivrée par les administrateurs GUSP.",
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": f"{_base(settings)}/open311/v2",
            "changeset": CHANGESET,
            "type": "production",
            "formats": [formats.MEDIA_TYPES[formats.Format.XML].split(";")[0],
                        formats.MEDIA_TYPES[formats.Format.JSON].split(";")[0]],
        }],
    }
    return _answer(document, root="discovery", fmt=fmt)


@_read("/v2/services.{fmt}", summary="Liste des services (catégories)")
def list_services(fmt: str, session: deps.SessionDep) -> Response:
    return _answer(services.service_list(session=session), root="services", fmt=fmt)


@_read("/v2/services/{service_code}.{fmt}", summary="Définition d'un service")
def service_definition(service_code: str, fmt: str, session: deps.SessionDep) -> Response:
    formats.parse(fmt)
    return _answer(services.service_definition(session=session, code=service_code), root="service_definition",
                   fmt=fmt)


@router.post("/v2/requests.{fmt}", summary="Créer une demande (api_key obligatoire)", responses=_WRITE_ERRORS)
def create_request(
    request: Request,
    fmt: str,
    form: Annotated[submit.Form, Depends(read_form)],
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
) -> Response:
    """Form-encoded as the spec says, or multipart with photos as file parts; the report goes through
    GUSP's ordinary intake. A retry (same `Idempotency-Key`, or the same form soon after) gets the
    first answer again, with `Idempotent-Replayed: true`."""
    formats.parse(fmt)
    with db.transaction(session):
        submission = submit.check(session=session, settings=settings, form=form,
                                  query_api_key=_arg(request, "api_key"),
                                  idempotency_key=request.headers.get(idempotency.HEADER))
        if (report := submit.earlier(session=session, settings=settings, submission=submission)) is not None:
            return _answer(submit.created(report, submission), root="service_requests", fmt=fmt, replayed=True)
    photos = submit.fetch_media(submission, settings=settings)  # no transaction open meanwhile
    with db.transaction(session):
        report, replayed = submit.create(session=session, settings=settings, storage=storage,
                                         submission=submission, photos=photos)
        document = submit.created(report, submission)
    return _answer(document, root="service_requests", fmt=fmt, replayed=replayed)


@router.post("/v2/servicerequestupdates.{fmt}", summary="Ajouter un commentaire à une demande (extension FixMyStreet)",
             responses=_WRITE_ERRORS)
def create_update(
    request: Request,
    fmt: str,
    form: Annotated[submit.Form, Depends(read_form)],
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
) -> Response:
    """mySociety's extension: `service_request_id`, `description`, `update_id`, `status`,
    `updated_datetime`, `media_url` or photo file parts; a public comment, coordinators told."""
    formats.parse(fmt)
    with db.transaction(session):
        comment = comments.check(session=session, settings=settings, form=form,
                                 query_api_key=_arg(request, "api_key"),
                                 idempotency_key=request.headers.get(idempotency.HEADER))
        if (receipt := comments.earlier(session=session, settings=settings, comment=comment)) is not None:
            return _answer(comments.created(receipt), root="service_request_updates", fmt=fmt, replayed=True)
    photos = comments.fetch_media(comment, settings=settings)
    with db.transaction(session):
        receipt = comments.create(session=session, settings=settings, storage=storage, comment=comment,
                                  photos=photos)
        document = comments.created(receipt)
    return _answer(document, root="service_request_updates", fmt=fmt)


@_read("/v2/requests.{fmt}", summary="Demandes (filtres, 90 jours au plus, pagination)")
def list_requests(request: Request, fmt: str, session: deps.SessionDep, settings: deps.SettingsDep) -> Response:
    """`service_request_id`, `service_code`, `start_date`, `end_date`, `status`; `page`, `page_size`;
    `extensions=true` for extended statuses."""
    formats.parse(fmt)
    where = service_requests.parse_filter(
        session=session,
        ids=request.query_params.getlist("service_request_id"),
        service_codes=request.query_params.getlist("service_code"),
        status=request.query_params.getlist("status"),
        start_date=_arg(request, "start_date"),
        end_date=_arg(request, "end_date"),
        now=datetime.now(UTC),
        tz=ZoneInfo(settings.timezone),
    )
    page = query.page(page=_arg(request, "page"), page_size=_arg(request, "page_size"))
    document = service_requests.list_requests(
        session=session, settings=settings, where=where, page=page,
        extended=query.flag(_arg(request, "extensions")), base=_base(settings),
    )
    return _answer(document, root="service_requests", fmt=fmt)


@_read("/v2/requests/{service_request_id}.{fmt}", summary="Une demande")
def read_request(request: Request, service_request_id: str, fmt: str, session: deps.SessionDep,
                 settings: deps.SettingsDep) -> Response:
    formats.parse(fmt)
    document = service_requests.get_request(
        session=session, settings=settings, reference=service_request_id,
        extended=query.flag(_arg(request, "extensions")), base=_base(settings),
    )
    return _answer(document, root="service_requests", fmt=fmt)


@_read("/v2/tokens/{token}.{fmt}", summary="Identifiant d'une demande à partir de son jeton")
def read_token(token: str, fmt: str, session: deps.SessionDep) -> Response:
    formats.parse(fmt)
    return _answer(service_requests.from_token(session=session, token=token), root="service_requests", fmt=fmt)


@_read("/v2/servicerequestupdates.{fmt}", summary="Historique public des demandes (extension FixMyStreet)")
def list_updates(request: Request, fmt: str, session: deps.SessionDep, settings: deps.SettingsDep) -> Response:
    """mySociety's extension: status changes and public notes between `start_date` and `end_date`."""
    formats.parse(fmt)
    window = query.window(start_date=_arg(request, "start_date"), end_date=_arg(request, "end_date"),
                          now=datetime.now(UTC), tz=ZoneInfo(settings.timezone))
    page = query.page(page=_arg(request, "page"), page_size=_arg(request, "page_size"))
    document = updates.list_updates(session=session, settings=settings, window=window, page=page,
                                    base=_base(settings))
    return _answer(document, root="service_request_updates", fmt=fmt)


@router.options("/{rest:path}", include_in_schema=False)
def options(request: Request, rest: str, settings: deps.SettingsDep) -> Response:
    """What may be done at this address (`Allow`), and the CORS preflight of a GET."""
    methods = open311_http.allowed_methods(router.routes, request.url.path)
    if not methods:
        raise errors.NotFound("introuvable", "Cette adresse n'existe pas dans l'API Open311.")
    return open311_http.options(request, methods, settings)


@router.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(request: Request, rest: str) -> Response:
    """Anything else under /open311: a wrong method is a 400 (with `Allow`), a wrong address a 404."""
    methods = open311_http.allowed_methods(router.routes, request.url.path)
    if methods:
        raise errors.BadRequest("methode_non_autorisee",
                                f"La méthode {request.method} n'est pas permise à cette adresse.",
                                allow=", ".join(methods))
    raise errors.NotFound("introuvable", "Cette adresse n'existe pas dans l'API Open311.")
