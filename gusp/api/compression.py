"""Compressed answers: Brotli when the client takes it, else gzip; JSON, HTML, JS, CSS, CSV, SVG, tiles.

Starlette's gzip responder does the bookkeeping (already-encoded answers, 206 ranges, answers under
the minimum size, `Vary: Accept-Encoding`, streams flushed chunk by chunk so they still stream);
this module chooses the encoding from the client's `Accept-Encoding` (q-values honoured) and adds
Brotli. Photos (JPEG, PNG, WebP…) and PDFs are compressed already and pass through untouched.
nginx in front (deploy/) leaves compression to the app: nothing is compressed twice.
"""

from __future__ import annotations

import anyio.to_thread
import brotli
from starlette.datastructures import Headers
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Receive, Scope, Send

# Bytes: a smaller body is at most one packet (1,460 bytes of TCP payload), and the whole answer,
# headers included, leaves in TCP's first window (10 packets) compressed or not: compressing it
# saves no round trip, a few hundred bytes, for CPU on both sides (the answer to a new report,
# 860 bytes of JSON: about 0.05 ms on the server, 0.1-0.2 ms in the client; docs/benchmarks.md).
MINIMUM_SIZE = 1400
GZIP_LEVEL = 6
BROTLI_QUALITY = 5  # as fast as gzip 6, a few percent smaller; 11 is two orders of magnitude slower
THREAD_MINIMUM_SIZE = 128 * 1024  # larger chunks are compressed off the event loop
EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf", "image/heic", "image/heif")


def choose(accept_encoding: str) -> str:
    """'br', 'gzip' or 'identity' for an Accept-Encoding header; `q=0` refuses, `*` accepts both."""
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name:
            weights[name.strip()] = quality
    star = weights.get("*", 0.0)
    best, best_weight = "identity", 0.0
    for encoding in ("br", "gzip"):  # Brotli first when both are equally welcome
        weight = weights.get(encoding, star)
        if weight > best_weight:
            best, best_weight = encoding, weight
    return best


class BrotliResponder(IdentityResponder):
    content_encoding = "br"

    def __init__(self, app: ASGIApp, minimum_size: int, *, exclude_content_types: tuple[str, ...]) -> None:
        super().__init__(app, minimum_size, exclude_content_types=exclude_content_types)
        self._compressor: brotli.Compressor | None = None

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) >= THREAD_MINIMUM_SIZE:
            return await anyio.to_thread.run_sync(self._compress, body, more_body)
        return self._compress(body, more_body)

    def _compress(self, body: bytes, more_body: bool) -> bytes:
        if self._compressor is None:
            self._compressor = brotli.Compressor(quality=BROTLI_QUALITY)
        out = self._compressor.process(body)
        return out + (self._compressor.flush() if more_body else self._compressor.finish())


class Compression:
    """The outermost body transformation: every route's answer, static files and pages included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = choose(Headers(scope=scope).get("accept-encoding", ""))
        if encoding == "br":
            responder: IdentityResponder = BrotliResponder(self.app, MINIMUM_SIZE, exclude_content_types=EXCLUDED)
        elif encoding == "gzip":
            responder = GZipResponder(self.app, MINIMUM_SIZE, compresslevel=GZIP_LEVEL,
                                      thread_minimum_size=THREAD_MINIMUM_SIZE, exclude_content_types=EXCLUDED)
        else:
            responder = IdentityResponder(self.app, MINIMUM_SIZE, exclude_content_types=EXCLUDED)
        await responder(scope, receive, send)

