"""Static files under a release fingerprint: `/static/v-<hash>/…` and `/vendor/v-<hash>/…` are immutable.

The pages name their scripts and styles through the fingerprint of web/static and of the npm
lock file, so a browser keeps them a year and a new release is fetched at once. ES modules import
each other by relative paths, which stay under the same fingerprint. Unversioned paths (`/static/…`,
an old fingerprint after a deploy) still answer, revalidated at each use (`no-cache`).
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_VERSIONED_REFERENCE = re.compile(r'((?:src|href)=")/(static|vendor)/')


def fingerprint(static_dir: Path, lock_file: Path) -> str:
    """A short hash of every file of web/static and of the pinned npm versions: changes with any of them."""
    digest = hashlib.sha256()
    for path in sorted(p for p in static_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(static_dir)).encode())
        digest.update(path.read_bytes())
    if lock_file.is_file():
        digest.update(lock_file.read_bytes())
    return digest.hexdigest()[:12]


class Assets(StaticFiles):
    """StaticFiles that ignores a leading `v-<hash>/` and says how long the answer may be kept."""

    def __init__(self, *, directory: Path, version: str) -> None:
        super().__init__(directory=directory)
        self.version = version

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        head, sep, rest = path.partition(os.sep)
        return rest if sep and head.startswith("v-") else path

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        current = f"/v-{self.version}/" in scope.get("path", "")
        response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response


def versioned_page(text: str, version: str) -> str:
    """A page's `src`/`href` to /static/ and /vendor/ rewritten under the fingerprint."""
    return _VERSIONED_REFERENCE.sub(rf"\1/\2/v-{version}/", text)


@lru_cache(maxsize=64)
def _read_page(path: Path, mtime_ns: int, version: str) -> tuple[bytes, str]:
    body = versioned_page(path.read_text(encoding="utf-8"), version).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def page(path: Path, version: str) -> tuple[bytes, str]:
    """The page's bytes and ETag, read again only when the file changes."""
    return _read_page(path, path.stat().st_mtime_ns, version)
