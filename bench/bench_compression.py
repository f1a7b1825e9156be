"""Bytes of the first visit of each public page: plain, gzip and Brotli, as a browser would fetch them.

Run: .venv/bin/python bench/bench_compression.py (the app on GUSP_DATABASE_URL, through httpx's ASGI client).
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from gusp.api.main import create_app

PAGES = ["/", "/suivi/GUSP-2026-000001", "/carte", "/gestion"]


def first_visit(client: TestClient, page: str, encoding: str) -> int:
    html = client.get(page, headers={"Accept-Encoding": "identity"}).text
    paths = [page, "/config.js", *re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', html)]
    total = 0
    for path in paths:
        with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as response:
            total += sum(len(chunk) for chunk in response.iter_raw())
    return total


def main() -> None:
    with TestClient(create_app()) as client:
        print(f"{'page':28} {'plain':>10} {'gzip':>10} {'br':>10}")
        for page in PAGES:
            sizes = [first_visit(client, page, e) for e in ("identity", "gzip", "br")]
            print(f"{page:28} " + " ".join(f"{s / 1000:9.1f}K" for s in sizes))


if __name__ == "__main__":
    main()
