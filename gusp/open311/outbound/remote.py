"""The calls GUSP makes to a partner's Open311 server, in XML (the format every server has), as
FixMyStreet's client makes them: `POST requests.xml` (photos as `photo1`, `photo2`… file parts),
`GET tokens/{token}.xml`, `GET servicerequestupdates.xml` with `start_date` and `end_date`.

Failures come in two kinds: `Unavailable` (network, timeout, 5xx, 408, 429: try again later) and
`Refused` (any other 4xx, an answer that is not Open311: trying again would change nothing).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from gusp import errors
from gusp.models.open311 import PartnerOpen311
from gusp.open311 import query

USER_AGENT = "GUSP-Open311/1.0 (client)"
PAGE_SIZE = 1000  # GUSP's and the paging extension's page; a server without paging sends everything
PAGES_MAX = 20
_RETRYABLE = frozenset({408, 425, 429})
_ERROR_MAX = 500


class Unavailable(Exception):
    """The partner's server could not be reached or failed: try again later."""


class Refused(Exception):
    """The partner's server refused the request for good (key, service, form): fix, then retry."""


@dataclass(frozen=True)
class Created:
    remote_id: str | None
    token: str | None


@dataclass(frozen=True)
class Update:
    update_id: str
    service_request_id: str
    status: str  # lower case, as mySociety's extended statuses
    description: str
    updated_at: datetime | None
    media_url: str | None


def post_request(*, link: PartnerOpen311, fields: Sequence[Sequence[str]], photos: Sequence[bytes],
                 idempotency_key: str, timeout: float) -> Created:
    """Create the request; the answer gives its id, or a token to exchange for it later."""
    data: dict[str, list[str]] = {"api_key": [link.api_key]}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    files = [(f"photo{i}", (f"photo{i}.jpg", photo, "image/jpeg")) for i, photo in enumerate(photos, start=1)]
    response = _call("POST", link, "requests.xml", timeout=timeout, data=data, files=files or None,
                     headers={"Idempotency-Key": idempotency_key})
    request = _root(response, "service_requests").find("request")
    if request is None:
        raise Refused("réponse sans demande (request)")
    remote_id, token = _text(request, "service_request_id"), _text(request, "token")
    if not remote_id and not token:
        raise Refused("réponse sans service_request_id ni token")
    return Created(remote_id=remote_id, token=token)


def request_id_of_token(*, link: PartnerOpen311, token: str, timeout: float) -> str | None:
    """The id behind a token, or None while the server has not made the request yet."""
    try:
        response = _call("GET", link, f"tokens/{token}.xml", timeout=timeout, params=_params(link))
    except Refused:
        return None  # 404: not yet
    request = _root(response, "service_requests").find("request")
    return _text(request, "service_request_id") if request is not None else None


def updates(*, link: PartnerOpen311, start: datetime, end: datetime, timeout: float, tz: ZoneInfo) -> list[Update]:
    """Every update of the window, page after page while pages come back full and new."""
    found: dict[str, Update] = {}
    for page in range(1, PAGES_MAX + 1):
        # Whole seconds, as every server reads them: the start rounded down, the end up.
        params = {**_params(link), "start_date": _w3c(start), "end_date": _w3c(end + timedelta(seconds=1))}
        if page > 1:
            params |= {"page": str(page), "page_size": str(PAGE_SIZE)}
        root = _root(_call("GET", link, "servicerequestupdates.xml", timeout=timeout, params=params),
                     "service_request_updates")
        items = [u for e in root.findall("request_update") if (u := _update(e, tz)) is not None]
        new = [u for u in items if u.update_id not in found]
        found.update((u.update_id, u) for u in new)
        if len(items) < PAGE_SIZE or not new:
            break
    return sorted(found.values(), key=lambda u: (u.updated_at or end, u.update_id))


def _call(method: str, link: PartnerOpen311, path: str, *, timeout: float, **kwargs: object) -> httpx.Response:
    url = f"{link.endpoint.rstrip('/')}/{path}"
    headers = {"User-Agent": USER_AGENT, "Accept": "text/xml, application/xml", **kwargs.pop("headers", {})}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            response = http.request(method, url, headers=headers, **kwargs)
    except httpx.HTTPError as error:
        raise Unavailable(f"{type(error).__name__} : {error}") from None
    if response.status_code >= 500 or response.status_code in _RETRYABLE:
        raise Unavailable(f"HTTP {response.status_code}{_errors(response)}")
    if response.status_code != 200:
        raise Refused(f"HTTP {response.status_code}{_errors(response)}")
    return response


def _root(response: httpx.Response, tag: str) -> ET.Element:
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        raise Refused("réponse illisible (XML attendu)") from None
    if root.tag != tag:
        raise Refused(f"réponse inattendue : <{root.tag}> au lieu de <{tag}>")
    return root


def _errors(response: httpx.Response) -> str:
    """The descriptions of the spec's error list, or the start of the body."""
    try:
        root = ET.fromstring(response.content)
        found = [_text(e, "description") or _text(e, "code") or "?" for e in root.findall("error")]
        return (": " + "; ".join(found))[:_ERROR_MAX] if found else ""
    except ET.ParseError:
        return (": " + response.text)[:_ERROR_MAX] if response.text else ""


def _update(element: ET.Element, tz: ZoneInfo) -> Update | None:
    update_id, request_id = _text(element, "update_id"), _text(element, "service_request_id")
    if not update_id or not request_id:
        return None
    updated_at = None
    if raw := _text(element, "updated_datetime"):
        try:
            updated_at = query.parse_datetime(raw, field="updated_datetime", tz=tz)
        except errors.GuspError:
            updated_at = None
    return Update(update_id=update_id[:100], service_request_id=request_id, status=(_text(element, "status") or "")
                  .lower()[:64], description=_text(element, "description") or "", updated_at=updated_at,
                  media_url=_text(element, "media_url"))


def _params(link: PartnerOpen311) -> dict[str, str]:
    params = {"api_key": link.api_key}
    if link.jurisdiction_id:
        params["jurisdiction_id"] = link.jurisdiction_id
    return params


def _text(element: ET.Element, name: str) -> str | None:
    child = element.find(name)
    return child.text.strip() if child is not None and child.text and child.text.strip() else None


def _w3c(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
