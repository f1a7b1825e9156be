"""A real TCP proxy between the app and PostgreSQL that can lose the answer to a COMMIT.

It relays the PostgreSQL wire protocol both ways and reads its message frames. Armed with a
marker (`cut_commit_after(b"INSERT INTO report_photos")`), it lets the next transaction that sent
a statement containing the marker reach the server, COMMIT included; when the server answers
`CommandComplete "COMMIT"`, the commit has been applied, and the proxy closes both sides instead
of relaying that answer: the app sees the connection drop without knowing whether its commit
happened, as after a network cut or a server crash at the wrong moment.

    with running_proxy(database_url) as proxy:
        settings = settings.model_copy(update={"database_url": proxy.url})
        proxy.cut_commit_after(b"INSERT INTO report_photos")
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class PgProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.cuts = 0  # commits applied whose answer was dropped
        self._marker: bytes | None = None
        self._alone = False  # cut_answer_to: the marked statement is its own transaction
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def cut_commit_after(self, marker: bytes) -> None:
        """Drop the answer to the next COMMIT of a transaction that sent a statement containing marker."""
        with self._lock:
            self._marker, self._alone = marker, False

    def cut_answer_to(self, marker: bytes) -> None:
        """Drop the answer to the next statement containing marker sent alone (autocommit): the server
        has run and committed it when it says it is ready for the next query, which the proxy cuts."""
        with self._lock:
            self._marker, self._alone = marker, True

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()
            # Relays of connections still open (a pool's idle ones): ended here, not when the loop is gone.
            handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        connection = _Connection(self)
        try:
            startup = await _read_untyped(client_reader)
            while struct.unpack("!i", startup[4:8])[0] in (_SSL_REQUEST, _GSSENC_REQUEST):
                client_writer.write(b"N")  # no encryption through the proxy: the client goes on in clear
                await client_writer.drain()
                startup = await _read_untyped(client_reader)
            server_writer.write(startup)
            await server_writer.drain()
            relays = [asyncio.ensure_future(connection.client_to_server(client_reader, server_writer)),
                      asyncio.ensure_future(connection.server_to_client(server_reader, client_writer))]
            done, pending = await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
            for relay in pending:
                relay.cancel()
            await asyncio.gather(*relays, return_exceptions=True)  # one side closed, or the cut
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for writer in (client_writer, server_writer):
                writer.close()


class _Cut(Exception):
    """The answer to a COMMIT was dropped: both sides are closed."""


class _Connection:
    def __init__(self, proxy: PgProxy):
        self.proxy = proxy
        self.marked = False  # this transaction sent the marker while armed
        self.cutting = False  # its COMMIT went through: drop the answer
        self.alone = False  # cut at the marked statement's own end (cut_answer_to)

    async def client_to_server(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            kind, frame = await _read_typed(reader)
            query = _query_text(kind, frame)
            if query is not None:
                self._watch(query)
            writer.write(frame)
            await writer.drain()

    async def server_to_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            kind, frame = await _read_typed(reader)
            ended = kind == b"Z" if self.alone else kind == b"C" and frame[5:].startswith(b"COMMIT\x00")
            if self.cutting and ended:
                self.proxy.cuts += 1
                raise _Cut
            writer.write(frame)
            await writer.drain()

    def _watch(self, query: bytes) -> None:
        verb = query.lstrip().upper()
        with self.proxy._lock:
            marker = self.proxy._marker
            if marker is not None and marker in query and self.proxy._alone:
                self.cutting, self.alone, self.proxy._marker = True, True, None
                return
            if marker is not None and marker in query:
                self.marked = True
            if verb.startswith(b"ROLLBACK"):
                self.marked = False
            elif verb.startswith(b"COMMIT") and self.marked:
                self.cutting, self.marked, self.proxy._marker = True, False, None


def _query_text(kind: bytes, frame: bytes) -> bytes | None:
    """The SQL of a simple Query ('Q') or of a Parse ('P': statement name, then the query)."""
    body = frame[5:]
    if kind == b"Q":
        return body.rstrip(b"\x00")
    if kind == b"P":
        return body.split(b"\x00", 2)[1]
    return None


async def _read_untyped(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(4)
    (length,) = struct.unpack("!i", head)
    return head + await reader.readexactly(length - 4)


async def _read_typed(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readexactly(5)
    (length,) = struct.unpack("!i", head[1:])
    return head[:1], head + await reader.readexactly(length - 4)


@contextmanager
def running_proxy(database_url: str) -> Iterator[tuple[PgProxy, str]]:
    """A proxy to the server of database_url, and the same URL through the proxy (without TLS)."""
    url = make_url(database_url)
    proxy = PgProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    try:
        through = url.set(host="127.0.0.1", port=proxy.port).update_query_dict({"sslmode": "disable"})
        yield proxy, through.render_as_string(hide_password=False)
    finally:
        proxy.stop()
