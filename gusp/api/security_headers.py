"""One middleware sets the security headers of every answer: CSP, framing, sniffing, referrer, caching.

The Content-Security-Policy allows scripts and styles from our origin only (no inline script,
no inline style, no eval) and, for the map background, the tile hosts of `GUSP_TILE_URL`.
Nothing may frame a GUSP page. Everything but public static files, photos and the public pages is
`Cache-Control: no-store`: staff pages and JSON (personal data, CSRF tokens) stay out of shared
and browser caches; the service worker keeps what offline use needs through its own Cache API.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gusp.config import Settings

# Served with their own caching (content-addressed photos, static files, revalidated public pages).
# Map tiles: private and revalidated by ETag (gusp.api.tiles), never shared.
_OWN_CACHING_PREFIXES = ("/static/", "/vendor/", "/media/", "/suivi/", "/api/v1/tiles/")
_OWN_CACHING_PATHS = frozenset({"/", "/suivi", "/sw.js", "/config.js", "/favicon.ico"})


def tile_sources(tile_url: str) -> list[str]:
    """CSP sources of a `{z}/{x}/{y}` tile template: its origin, `{s}` subdomains as a wildcard."""
    if not tile_url.strip():
        return []
    parts = urlsplit(tile_url.strip().replace("{s}", "subdomain"))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return []
    host = parts.hostname
    if "subdomain" in host:
        host = "*." + host.split("subdomain.", 1)[-1]
    port = f":{parts.port}" if parts.port else ""
    return [f"{parts.scheme}://{host}{port}"]


def content_security_policy(settings: Settings) -> str:
    tiles = " ".join(tile_sources(settings.map_tiles[0]))  # none when tiles are off
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": f"'self' data: blob: {tiles}",
        "connect-src": f"'self' {tiles}",
        "font-src": "'self'",
        "worker-src": "'self'",
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value.strip()}" for name, value in directives.items())


def fixed_headers(settings: Settings) -> dict[str, str]:
    """The headers every answer carries, also the 500 that Starlette's outermost handler sends
    (it answers outside every middleware)."""
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class SecurityHeaders:
    """Adds the headers to every HTTP answer; a header a route set itself (e.g. a stricter
    Referrer-Policy, or its own Cache-Control on a public file) is kept."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.fixed = fixed_headers(settings)
        # encoded once: the raw (name, value) pairs an answer gets when it did not set them itself
        self._raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.fixed.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        own_caching = path in _OWN_CACHING_PATHS or path.startswith(_OWN_CACHING_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                present = {name for name, _ in headers.raw}
                headers.raw.extend(pair for pair in self._raw if pair[0] not in present)
                if not own_caching:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)
