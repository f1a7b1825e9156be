"""Fetching a client's `media_url` without letting it reach inside our network (SSRF).

Only http and https; the host name is resolved once and every address it gives must be a public
one (no loopback, private, link-local, shared, multicast or reserved range) unless the host is in
`open311_media_allowed_hosts`; the connection goes to the address that was checked, so a second
DNS answer cannot swap it (rebinding). Redirects are followed at most three times, each new
address checked again. One deadline covers the whole fetch; the body stops at the photo size
limit; the bytes must sniff as a photo GUSP accepts. Then they go through the usual pipeline.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from urllib.parse import urljoin, urlsplit

from gusp import errors, photos
from gusp.config import Settings

FIELD = "media_url"
MAX_REDIRECTS = 3
URL_MAX = 2000
DEFAULT_TIMEOUT_S = 10.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_USER_AGENT = "GUSP-Open311/1.0 (+media_url)"


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def fetch(url: str, *, settings: Settings) -> bytes:
    """The bytes of the photo at `url`, or a domain error saying in French why not."""
    timeout = float(getattr(settings, "open311_media_timeout_s", DEFAULT_TIMEOUT_S))
    allowed = {h.lower() for h in getattr(settings, "open311_media_allowed_hosts", [])}
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        target = _parse(url)
        address = _checked_address(target, allowed=allowed, deadline=deadline)
        status, location, data = _get(target, address, settings=settings, deadline=deadline)
        if status in _REDIRECTS:
            if not location:
                raise _unreachable("redirection sans destination")
            url = urljoin(url, location)
            continue
        if status != 200:
            raise _unreachable(f"le serveur a répondu {status}")
        if photos.sniff(data) is None:
            raise errors.UnsupportedMediaType(
                "type_photo_non_supporte",
                "Le fichier de media_url n'est pas une photo dans un format accepté (JPEG, PNG, WebP ou HEIC).",
                field=FIELD,
            )
        return data
    raise _unreachable(f"plus de {MAX_REDIRECTS} redirections")


def _parse(url: str) -> _Target:
    invalid = errors.BadRequest(
        "media_url_invalide", "media_url doit être une adresse http:// ou https:// complète.", field=FIELD
    )
    if len(url) > URL_MAX or any(c.isspace() for c in url):
        raise invalid
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise invalid
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80), path)


def _checked_address(target: _Target, *, allowed: set[str], deadline: float) -> str:
    """Resolve once; every address must be public (or the host allowed); connect to the first."""
    try:
        infos = _resolver().submit(socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM).result(
            timeout=_remaining(deadline)
        )
    except FutureTimeout:
        raise _too_slow() from None
    except (OSError, UnicodeError):
        raise _unreachable("nom de serveur inconnu") from None
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    if not addresses:
        raise _unreachable("nom de serveur inconnu")
    if target.host not in allowed and not all(is_public(a) for a in addresses):
        raise errors.BadRequest(
            "media_url_interdite",
            "media_url désigne une adresse privée ou réservée : seules les adresses publiques sont acceptées.",
            field=FIELD,
        )
    return addresses[0]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


class _PinnedHTTP(http.client.HTTPConnection):
    """Speaks to the host by name (Host header) at the address that was checked."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the host name (SNI too)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _get(target: _Target, address: str, *, settings: Settings, deadline: float) -> tuple[int, str | None, bytes]:
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target.host, target.port, address=address, timeout=_remaining(deadline))
    try:
        connection.request(
            "GET", target.path,
            headers={"User-Agent": _USER_AGENT, "Accept": "image/*", "Accept-Encoding": "identity"},
        )
        response = connection.getresponse()
        if response.status != 200:  # a redirect or a failure: its body is of no use
            return response.status, response.getheader("Location"), b""
        limit = settings.max_photo_bytes
        declared = response.getheader("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        return 200, None, _read(connection, response, limit=limit, deadline=deadline)
    except TimeoutError:
        raise _too_slow() from None
    except (OSError, http.client.HTTPException) as error:
        raise _unreachable(type(error).__name__) from None
    finally:
        connection.close()


def _read(connection: http.client.HTTPConnection, response: http.client.HTTPResponse, *, limit: int,
          deadline: float) -> bytes:
    """At most `limit` bytes, before the deadline: a server dripping a byte a second is cut off too."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if connection.sock is not None:
            connection.sock.settimeout(_remaining(deadline))
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        _remaining(deadline)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _too_slow()
    return left


@cache
def _resolver() -> ThreadPoolExecutor:
    """DNS look-ups cannot be given a timeout: they run here, and we stop waiting at the deadline."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="gusp-open311-dns")


def _unreachable(why: str) -> errors.BadRequest:
    return errors.BadRequest(
        "media_url_injoignable", f"La photo de media_url n'a pas pu être téléchargée ({why}).", field=FIELD
    )


def _too_slow() -> errors.BadRequest:
    return errors.BadRequest(
        "media_url_trop_lente", "La photo de media_url a mis trop de temps à arriver : envoi abandonné.", field=FIELD
    )


def _too_large(limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        "photo_trop_lourde",
        f"La photo de media_url dépasse la taille maximale de {_size(limit)}.",
        field=FIELD,
        max_bytes=limit,
    )


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.0f} Mo"
    return f"{max(1, round(limit / 1024))} Ko"
