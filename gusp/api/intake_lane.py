"""The intake's fast lane: a stranger's report without photo, taken in on the event loop.

Most reports are a resident's form without photo. `POST /api/v1/reports` goes through FastAPI's
form model, a worker thread and the ORM session; for this request that machinery costs more CPU
than the report itself (docs/benchmarks.md, "intake"). The lane, an ASGI layer inside the
middlewares (security headers, access log, compression, timer and body limit all apply), takes
such a request itself:

- the form is read and validated by the route's own model (`schemas.ReportCreate`);
- gusp.intake_lean's statement runs alone on an async connection in autocommit: one round trip
  (the statement writes the report only within the hourly limit, so nothing needs undoing);
- the answer is gusp.intake_lean's, the public view built from what the statement returned.

Whatever is not the plain case passes through to the route untouched, which then does all the
work as before: a signed-in caller, photos, a receipt to send, a query string, an invalid field,
an unknown category, a place out of the territory, a replay, the hourly limit reached (the
statement wrote nothing). So every refusal keeps the route's exact answer.

An idle connection the server closed (PostgreSQL restarted) is noticed before use without a round
trip, and replaced. A connection that breaks once the statement is sent leaves it unknown whether
the report was written: with an Idempotency-Key (the reporting page always sends one) the request
goes to the route, which replays the report or takes it in; without, `enregistrement_incertain`
(503), as in gusp.db.transaction.
"""

from __future__ import annotations

import asyncio
import select
import weakref
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qsl

import psycopg
import pydantic
from psycopg.rows import namedtuple_row
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import gusp
from gusp import db, errors, intake_lean, schemas
from gusp.api import auth_deps
from gusp.config import Settings
from gusp.ops import metrics


PATH = "/api/v1/reports"
MAX_BODY = 64 * 1024  # a form without photo; anything larger goes to the route
_FORM = b"application/x-www-form-urlencoded"
_MULTIPART = b"multipart/form-data"  # the reporting page's form (photos, if any, send it to the route)
_REPORT_JSON = pydantic.TypeAdapter(schemas.ReportPublic)
_ROUTE = SimpleNamespace(path=PATH)  # what gusp.ops.metrics reads of the route it was served by


class IntakeLane:
    """ASGI layer: takes the plain case of `POST /api/v1/reports` (module docstring), passes the rest."""

    def __init__(self, app: ASGIApp, *, settings: Settings, connections: Connections) -> None:
        self.app = app
        self.settings = settings
        self.connections = connections  # made by the app, which closes them when it stops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = _plain_form(scope)
        if plain is None:
            await self.app(scope, receive, send)
            return
        form, headers = plain
        body = await _read(receive)
        if body is None:
            return  # the client went away
        answer = await self._take(scope, form, body, key=headers.get(b"idempotency-key"))
        if answer is None:
            await self.app(scope, _replay(body, receive), send)
            return
        scope["route"] = _ROUTE  # its metrics name the route, as the router does
        await answer(scope, receive, send)

    async def _take(self, scope: Scope, form: bytes, body: bytes, *, key: bytes | None) -> Response | None:
        """The answer to a report the lane wrote, or None: the route's to answer."""
        if b"%00" in body or b"\x00" in body:
            return None  # gusp.api.hostile's refusal, from the route
        try:
            fields = await _fields(scope, form, body)
            if fields is None:
                return None  # a file: photos are the route's
            data = schemas.ReportCreate.model_validate(fields)
            if not intake_lean.can_take(data=data, uploads=[]) or intake_lean.receipt_due(data):
                return None
            client = scope.get("client")
            params = intake_lean.statement_params(
                settings=self.settings, data=data, author=None, idempotency_key=key.decode("latin-1") if key else None,
                client=client[0] if client else None)
        except (UnicodeDecodeError, ValueError, HTTPException, MultiPartException, pydantic.ValidationError,
                errors.GuspError):
            return None  # the route gives its own 4xx
        try:
            row = await self._run(params)
        except errors.ServiceUnavailable as error:  # rendered as gusp.api.errors renders it for the route
            return JSONResponse(error.body(), status_code=error.status, headers=error.headers())
        if row is None:
            return None
        self.connections.reports_taken += 1
        metrics.REPORTS_CREATED.labels(params["source"]).inc()
        public = intake_lean.answer(row, data=data, settings=self.settings, published=params["published"])
        return Response(_REPORT_JSON.dump_json(public, by_alias=True), status_code=201, media_type="application/json",
                        headers={"Location": f"{PATH}/{row.reference}"})

    async def _run(self, params: dict) -> object | None:
        """The statement's row when the report was written, else None (the route will say why)."""
        async with self.connections.slot():
            try:
                connection = await self.connections.get()
            except psycopg.OperationalError:
                return None  # the database is away: the route answers as it does then
            try:
                cursor = connection.cursor(row_factory=namedtuple_row)
                await cursor.execute(intake_lean.STATEMENT, intake_lean.arguments(params))
                row = await cursor.fetchone()
            except psycopg.OperationalError as error:
                # Sent, then the connection broke: PostgreSQL may have written the report or not. With a
                # key the route finds out (it replays it, or takes it in); without one, nobody can tell.
                await self.connections.discard(connection)
                if params["key"] is None:
                    raise db.commit_uncertain() from error
                return None
            except psycopg.Error:  # e.g. a value PostgreSQL refuses: the route has the answer for it
                await self.connections.discard(connection)
                return None
            except BaseException:
                await self.connections.discard(connection)
                raise
            await self.connections.put(connection)
            # Not written: the hour was full, the category unknown, the place far away, or a replay.
            return row if row.id is not None else None


class Connections:
    """At most `size` async connections in use, idle ones kept; per event loop (a connection waits
    on its loop's selector; tests run several loops)."""

    def __init__(self, database_url: str, *, size: int) -> None:
        self.conninfo = gusp.libpq_url(database_url)
        self.size = size
        self.loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = weakref.WeakKeyDictionary()
        self.reports_taken = 0  # by the lane itself, not passed to the route (for tests and curiosity)

    def _here(self) -> _Loop:
        loop = asyncio.get_running_loop()
        if loop not in self.loops:
            self.loops[loop] = _Loop(idle=[], slots=asyncio.Semaphore(self.size))
        return self.loops[loop]

    def slot(self) -> asyncio.Semaphore:
        """Held while a connection is in use: the next reports wait for one (PostgreSQL's connections are few)."""
        return self._here().slots

    async def get(self) -> psycopg.AsyncConnection:
        pool = self._here().idle
        while pool:
            connection = pool.pop()
            if _alive(connection):
                return connection
            await self.discard(connection)
        return await psycopg.AsyncConnection.connect(self.conninfo, cursor_factory=psycopg.AsyncRawCursor,
                                                     application_name="gusp-intake-lane",
                                                     autocommit=True)

    async def put(self, connection: psycopg.AsyncConnection) -> None:
        pool = self._here().idle
        idle = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if idle and not connection.closed and len(pool) < self.size:
            pool.append(connection)
        else:
            await self.discard(connection)

    async def discard(self, connection: psycopg.AsyncConnection) -> None:
        try:
            await connection.close()
        except psycopg.Error:  # pragma: no cover - already broken
            pass

    async def close(self) -> None:
        pool = self._here().idle
        while pool:
            await self.discard(pool.pop())


@dataclass
class _Loop:
    idle: list[psycopg.AsyncConnection]  # kept open, last used first
    slots: asyncio.Semaphore  # connections that may be in use at once


def _alive(connection: psycopg.AsyncConnection) -> bool:
    """False for an idle connection the server has closed (restarted, or the backend was ended). An
    idle connection in autocommit is sent nothing unasked (the lane does not LISTEN): anything to
    read is the server's goodbye. Checked without a round trip, since a connection found dead only
    once the statement is sent leaves it unknown whether the report was written."""
    if connection.closed or connection.pgconn.status != psycopg.pq.ConnStatus.OK:
        return False
    poll = select.poll()
    poll.register(connection.pgconn.socket, select.POLLIN)
    return not poll.poll(0)


def _plain_form(scope: Scope) -> tuple[bytes, dict[bytes, bytes]] | None:
    """The media type and the headers of a request the lane may take (a small form posted by a
    stranger), else None; the headers are read here only once a request is to `POST /api/v1/reports`."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH or scope["query_string"]:
        return None
    headers = dict(scope["headers"])
    form = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    length = headers.get(b"content-length", b"")
    if form not in (_FORM, _MULTIPART) or not length.isdigit() or int(length) > MAX_BODY:
        return None
    if b"authorization" in headers or auth_deps.SESSION_COOKIE.encode() + b"=" in headers.get(b"cookie", b""):
        return None  # a caller who may be signed in: the route knows who
    return form, headers


async def _fields(scope: Scope, form: bytes, body: bytes) -> dict[str, str] | None:
    """The form's fields; None when it holds a file."""
    if form == _FORM:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    async with Request(scope, _replay(body, _nothing)).form(max_files=0) as form:
        if any(not isinstance(value, str) for value in form.values()):
            return None
        return dict(form)


async def _nothing() -> Message:  # pragma: no cover - the body is given whole
    return {"type": "http.disconnect"}


async def _read(receive: Receive) -> bytes | None:
    """The whole body, or None when the client went away."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` again, then what the client sends next (its disconnection)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
