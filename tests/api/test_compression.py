"""Compressed answers (gusp/api/compression.py) and fingerprinted static files (gusp/api/assets.py)."""

from __future__ import annotations

import concurrent.futures
import gzip
import re
import zlib

import brotli
import pytest
from starlette.responses import StreamingResponse

from gusp.api import compression


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip, deflate, br, zstd", "br"),
    ("gzip", "gzip"),
    ("br;q=0, gzip", "gzip"),
    ("gzip;q=0.5, br;q=0.4", "gzip"),
    ("*", "br"),
    ("*;q=0", "identity"),
    ("identity", "identity"),
    ("", "identity"),
    ("br;q=abc, gzip", "gzip"),
])
def test_the_encoding_follows_the_client_s_preferences(header, expected):
    assert compression.choose(header) == expected


def raw_get(client, path, encoding):
    """The bytes as sent on the wire, not decoded by the client."""
    with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("path", ["/", "/static/gusp.css", "/static/js/report.js", "/api/v1/quartiers",
                                  "/vendor/leaflet/dist/leaflet.js"])
def test_html_css_js_and_json_are_compressed_once_with_brotli_or_gzip(client, path):
    plain, plain_body = raw_get(client, path, "identity")
    br, br_body = raw_get(client, path, "gzip, br")
    gz, gz_body = raw_get(client, path, "gzip")

    assert "content-encoding" not in plain.headers
    assert br.headers["content-encoding"] == "br" and brotli.decompress(br_body) == plain_body
    assert gz.headers["content-encoding"] == "gzip" and gzip.decompress(gz_body) == plain_body
    assert len(br_body) < len(plain_body) / 2 and len(gz_body) < len(plain_body) / 2
    for response in (plain, br, gz):
        assert "accept-encoding" in response.headers["vary"].lower()
    assert int(br.headers.get("content-length", len(br_body))) == len(br_body)  # large files go chunked


def test_the_first_visit_of_the_reporting_page_weighs_a_third(client):
    page = client.get("/", headers={"Accept-Encoding": "identity"}).text
    paths = ["/"] + re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', page) + ["/config.js"]
    plain = sum(len(raw_get(client, path, "identity")[1]) for path in paths)
    compressed = sum(len(raw_get(client, path, "gzip, deflate, br")[1]) for path in paths)
    assert compressed < plain / 3, (plain, compressed)


def test_small_answers_and_photos_are_left_alone(client):
    small, body = raw_get(client, "/api/v1/auth/me", "gzip, br")  # a short JSON refusal
    svg, _ = raw_get(client, "/static/favicon.svg", "gzip, br")

    assert len(body) < compression.MINIMUM_SIZE and "content-encoding" not in small.headers
    assert svg.status_code == 200


async def _messages(app, encoding: str) -> list[dict]:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-encoding", encoding.encode())]}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await compression.Compression(app)(scope, receive, send)
    return sent


def _sent(app, encoding: str) -> list[dict]:
    """The messages, on a thread of its own: a browser test run before may have left its event loop running in this one."""
    import anyio

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, _messages, app, encoding).result()


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_streamed_answer_still_streams_each_chunk_readable_on_arrival(encoding):
    chunks = [f"ligne {i};".encode() * 100 + b"\n" for i in range(5)]

    async def lines():
        for chunk in chunks:
            yield chunk

    app = StreamingResponse(lines(), media_type="text/csv")
    sent = _sent(app, encoding)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m.get("body")]
    decoder = brotli.Decompressor() if encoding == "br" else zlib.decompressobj(16 + zlib.MAX_WBITS)
    decoded = [decoder.process(b) if encoding == "br" else decoder.decompress(b) for b in bodies]

    assert dict(sent[0]["headers"])[b"content-encoding"] == encoding.encode()
    assert decoded[: len(chunks)] == chunks  # every chunk decodable as soon as it arrives


def test_jpeg_photos_are_not_compressed_again():
    from starlette.responses import Response

    app = Response(b"\xff\xd8\xff" + b"\x00" * 5000, media_type="image/jpeg")
    sent = _sent(app, "gzip, br")
    assert b"content-encoding" not in dict(sent[0]["headers"])


def test_pages_name_their_assets_under_the_release_fingerprint_kept_a_year(client, app):
    version = app.state.asset_version
    page = client.get("/carte")
    sources = re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', page.text)

    assert sources and all(source.startswith((f"/static/v-{version}/", f"/vendor/v-{version}/")) for source in sources)
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    # a module's relative imports stay under the fingerprint
    assert client.get(f"/static/v-{version}/js/api.js").headers["cache-control"].endswith("immutable")
    # unversioned and old fingerprints still answer, revalidated
    assert client.get("/static/gusp.css").headers["cache-control"] == "no-cache"
    assert client.get("/static/v-0123456789ab/gusp.css").headers["cache-control"] == "no-cache"
    assert client.get(f"/static/v-{version}/nothing.css").status_code == 404


def test_an_unchanged_page_answers_304(client):
    first = client.get("/")
    again = client.get("/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
