"""Builders for Open311 tests: a client key, form posts, XML reading, a media server, a real GUSP server."""

from __future__ import annotations

import http.server
import itertools
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from sqlalchemy.orm import Session

from gusp.api.main import create_app
from gusp.config import Settings
from gusp.models.open311 import Open311Client
from gusp.open311 import clients
from tests import builders, smtp

_numbers = itertools.count(1)

REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
]


def make_client(session: Session, name: str | None = None) -> tuple[str, Open311Client]:
    return clients.create_client(session=session, name=name or f"Application {next(_numbers)}")


def fields(session: Session, api_key: str | None, *, quartier: str = builders.ENCAGNANE, **overrides: object
           ) -> dict[str, str]:
    """The form of a valid Open311 request inside a quartier."""
    lat, lon = builders.point_in(session, quartier)
    values: dict[str, object] = {
        "api_key": api_key,
        "service_code": "proprete",
        "lat": lat,
        "long": lon,
        "description": "Sacs d'ordures abandonnés près de l'aire de jeux.",
    }
    values.update(overrides)
    return {k: str(v) for k, v in values.items() if v is not None}


def post(client, form: dict[str, str] | list[tuple[str, str]], fmt: str = "json"):
    """Form-encoded, as the spec says (a list of pairs may repeat a name)."""
    return client.post(f"/open311/v2/requests.{fmt}", content=urllib.parse.urlencode(form),
                       headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def xml(response) -> ET.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def xml_errors(response) -> list[tuple[str, str]]:
    root = xml(response)
    assert root.tag == "errors"
    return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]


def json_errors(response) -> list[tuple[int, str]]:
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, list) and body
    for error in body:
        assert set(error) == {"code", "description"}
    return [(e["code"], e["description"]) for e in body]


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # between two chunks of the body: a slow server
    chunks: int = 1
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class MediaServer:
    base: str
    routes: dict[str, Route]
    hits: list[str]
    host_headers: list[str]


@contextmanager
def running_media_server() -> Iterator[MediaServer]:
    """A real HTTP server on a free loopback port, its answers set per path by the test."""
    routes: dict[str, Route] = {}
    hits: list[str] = []
    host_headers: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            host_headers.append(self.headers.get("Host", ""))
            route = routes.get(self.path, Route(status=404, body=b"introuvable"))
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.length and "Content-Length" not in route.headers:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            size = max(1, len(route.body) // route.chunks)
            try:
                for start in range(0, len(route.body), size):
                    if route.delay_s:
                        time.sleep(route.delay_s)
                    self.wfile.write(route.body[start:start + size])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield MediaServer(base=f"http://127.0.0.1:{server.server_address[1]}", routes=routes, hits=hits,
                          host_headers=host_headers)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running_gusp(settings: Settings) -> Iterator[tuple[str, Settings]]:
    """The whole app served by uvicorn on a free loopback port, its public URL set to that address
    (so that its media links can be followed); media_url may come from 127.0.0.1."""
    port = smtp.free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"open311_media_allowed_hosts": ["127.0.0.1"], "public_url": base})
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "le serveur n'a pas démarré"
        time.sleep(0.05)
    try:
        yield base, settings
    finally:
        server.should_exit = True
        thread.join(timeout=10)
