"""The first view of `/carte` at N reports, beside tipg serving the same table as vector tiles.

Seeds N reports with `gusp.demo_bulk` (as `gusp demo --size N`) in a scratch database (or uses
`--database-url`, already seeded), starts `gusp serve` (one process) and, in a separate venv that
this script makes itself (bench/.venv-tipg: `pip install tipg uvicorn`, never the project's
dependencies), tipg on the same database. Then:

1. `/carte` in Chromium (Playwright, 1400 × 950, signed in as a coordinator, default filters: the
   last three months): every data request of the first view (tiles, counts) with its bytes, and
   the time from navigation to the page saying it is drawn (`body[data-ready=true]`); once on a
   fresh server (tile cache empty), once again (cache warm, browser cache empty);
2. the same tiles and the counts fetched by one HTTP client (6 connections, as a browser per
   host) from GUSP with its tile cache empty; then the same tiles from tipg, restricted to the same
   three months (CQL2 filter on `created_at`) and the same properties, with no feature limit; each
   run on both servers started afresh then warmed alike (6 parallel requests for the perimeters:
   pooled connections open, PostGIS loaded), median of `--runs`; then, on the same GUSP server, the
   view for one more day (another filter set: tile cache empty, connections that have read `reports`),
   to set beside tipg asked again;
3. the triage-list pages the former `/carte` loaded (10 × 500 rows, the most it showed);
4. a check that the view shows every report of the window: the counts of its tiles add up to
   `/api/v1/stats/map`'s total and to a `count(*)` in SQL.
Prints Markdown for docs/benchmarks.md, with the machine line.
Run: .venv/bin/python bench/bench_maps.py [--size 100000] [--database-url URL]
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import concurrent.futures
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import mapbox_vector_tile
from sqlalchemy import text

from gusp import accounts, credentials, db, libpq_url, migrate
from gusp.config import Settings
from gusp.models import User

ROOT = Path(__file__).resolve().parent
TIPG_VENV = ROOT / ".venv-tipg"
CHROMIUM = os.environ.get("GUSP_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "phrase de passe du banc d'essai"
SERVE = """
import sys, uvicorn
from gusp.api import main
uvicorn.run(main.create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
CONNECTIONS = 6


def tipg_python() -> Path:
    """tipg in a venv of its own, made on first use."""
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(TIPG_VENV)], check=True)
    if subprocess.run([str(python), "-c", "import tipg, uvicorn"], capture_output=True).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True)
    return python


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} ne répond pas")


def start_gusp(url: str, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env={**os.environ, "GUSP_DATABASE_URL": url},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/api/v1/categories")
    return server


def start_tipg(url: str, port: int) -> subprocess.Popen:
    plain = libpq_url(url)
    env = {**os.environ, "DATABASE_URL": plain, "TIPG_DB_SCHEMAS": '["public"]',
           "TIPG_MAX_FEATURES_PER_TILE": "10000000"}
    server = subprocess.Popen([str(TIPG_VENV / "bin" / "uvicorn"), "tipg.main:app", "--port", str(port),
                               "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/collections")
    return server


def stop(server: subprocess.Popen | None) -> None:
    if server is not None:
        server.terminate()
        server.wait(timeout=20)


def browser_first_view(base: str, email: str) -> dict:
    """`/carte` in Chromium: data requests (path, bytes) and ms from navigation to drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 950}, locale="fr-FR",
                                      timezone_id="Europe/Paris", service_workers="block")
        context.set_default_timeout(600_000)
        page = context.new_page()
        page.goto("/connexion?suite=/gestion")
        page.get_by_label("Adresse e-mail").first.fill(email)
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(lambda u: "/connexion" not in u)
        requests: list = []
        page.on("requestfinished", lambda r: requests.append(r) if "/api/v1/" in r.url else None)
        start = time.perf_counter()
        page.goto("/carte")
        page.locator("body[data-ready=true]").wait_for(state="attached")
        elapsed = (time.perf_counter() - start) * 1000
        summary = page.locator("#summary").text_content()
        data = [(r.url.split(base, 1)[-1], r.sizes()["responseBodySize"]) for r in requests]
        browser.close()
    return {"ms": elapsed, "requests": data, "summary": summary}


def fetch_all(client: httpx.Client, paths: list[str]) -> tuple[float, int, list[bytes]]:
    """ms and bytes to fetch every path, CONNECTIONS at a time."""
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
        bodies = list(pool.map(lambda p: _get(client, p), paths))
    return (time.perf_counter() - start) * 1000, sum(len(b) for b in bodies), bodies


def _get(client: httpx.Client, path: str) -> bytes:
    response = client.get(path)
    response.raise_for_status()
    return response.content


def tile_count(body: bytes) -> int:
    layers = mapbox_vector_tile.decode(body)
    points = len(layers.get("reports", {}).get("features", []))
    return points + sum(f["properties"]["count"] for f in layers.get("clusters", {}).get("features", []))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--database-url", help="a database already seeded (kept); default: a scratch one")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    base = Settings()
    scratch = args.database_url is None
    url = common.scratch_url(base.database_url) if scratch else args.database_url
    settings = base.model_copy(update={"database_url": url})
    servers: list[subprocess.Popen] = []
    try:
        generation = common.seed_demo(settings, args.size) if scratch else None
        migrate.upgrade(settings=settings)
        python = tipg_python()
        tipg_version = subprocess.run([str(python), "-c", "import tipg; print(tipg.__version__)"],
                                      capture_output=True, text=True).stdout.strip()
        email = "bench-carte@gusp.example"
        with db.command_session(url) as session:
            session.execute(text("DELETE FROM users WHERE email = :e"), {"e": email})
            user = User(email=email, full_name="Banc d'essai", role="coordinateur",
                        password_hash=accounts.hash_password(PASSWORD), active=True)
            session.add(user)
            session.flush()
            token, _ = credentials.create_api_token(session=session, user=user, name="bench")
            total, now, versions = session.execute(text(
                "SELECT (SELECT count(*) FROM reports), now(), version() || ', PostGIS ' || postgis_lib_version()")).one()
            today = now.astimezone(ZoneInfo(settings.timezone)).date()
            # The page's default period: « 3 derniers mois », from the browser's day 90 days ago (UTC date).
            since = (now - timedelta(days=90)).date()
            window_start = datetime.combine(since, dt_time.min, ZoneInfo(settings.timezone))
            in_window = session.scalar(text("SELECT count(*) FROM reports WHERE created_at >= :d"), {"d": window_start})

        port, tipg_port = 8790, 8791
        gusp = start_gusp(url, port)
        servers.append(gusp)
        base_url = f"http://127.0.0.1:{port}"
        cold = browser_first_view(base_url, email)
        warm = browser_first_view(base_url, email)
        stop(gusp)
        servers.remove(gusp)

        tiles = [p for p, _ in cold["requests"] if ".mvt" in p]
        counts_path = next(p for p, _ in cold["requests"] if p.startswith("/api/v1/stats/map"))

        client_args = {"timeout": 600, "limits": httpx.Limits(max_connections=CONNECTIONS)}
        cql = f"created_at >= TIMESTAMP('{window_start.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}')"
        tipg_paths = []
        for path in tiles:
            z, x, y = path.split("/api/v1/tiles/", 1)[1].split(".mvt", 1)[0].split("/")
            query = httpx.QueryParams({"filter": cql, "filter-lang": "cql2-text", "limit": "10000000",
                                       "properties": "reference,status,category_code"})
            tipg_paths.append(f"/collections/public.reports/tiles/WebMercatorQuad/{z}/{x}/{y}?{query}")
        # The same view for the day before: another filter set (tile cache empty), on the server now in use.
        other_day = (since - timedelta(days=1)).isoformat()
        other = [p.replace(f"created_from={since.isoformat()}", f"created_from={other_day}") for p in tiles + [counts_path]]
        assert not set(other) & set(tiles), "the other day's paths must differ"
        gusp_laps, gusp_in_use, tipg_laps, tipg_again = [], [], [], []
        for _ in range(args.runs):
            # Each run: both servers started afresh (nothing cached), warmed by one unrelated request.
            gusp = start_gusp(url, port)
            servers.append(gusp)
            client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, **client_args)
            fetch_all(client, ["/api/v1/quartiers"] * CONNECTIONS)  # a server in use: its connections warm
            gusp_ms, gusp_bytes, bodies = fetch_all(client, tiles + [counts_path])
            gusp_laps.append(gusp_ms)
            gusp_in_use.append(fetch_all(client, other)[0])
            shown = sum(tile_count(b) for b in bodies[:-1])
            table_total = client.get(counts_path).json()["total"]
            client.close()
            stop(gusp)
            servers.remove(gusp)
            tipg = start_tipg(url, tipg_port)
            servers.append(tipg)
            tipg_client = httpx.Client(base_url=f"http://127.0.0.1:{tipg_port}", **client_args)
            fetch_all(tipg_client, ["/collections/public.quartiers/items?limit=100"] * CONNECTIONS)
            tipg_ms, tipg_bytes, tipg_bodies = fetch_all(tipg_client, tipg_paths)
            tipg_laps.append(tipg_ms)
            tipg_again.append(fetch_all(tipg_client, tipg_paths)[0])
            tipg_client.close()
            stop(tipg)
            servers.remove(tipg)
        tipg_features = sum(len(layer["features"]) for b in tipg_bodies for layer in mapbox_vector_tile.decode(b).values())

        gusp = start_gusp(url, port)
        servers.append(gusp)
        client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, **client_args)
        old_start = time.perf_counter()
        old_bytes, cursor, rows = 0, None, 0
        for _ in range(10):
            params = {"created_from": since.isoformat(), "limit": 500, **({"cursor": cursor} if cursor else {})}
            response = client.get("/api/v1/gestion/reports", params=params)
            old_bytes += len(response.content)
            page = response.json()
            rows += page["count"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        old_ms = (time.perf_counter() - old_start) * 1000
        client.close()
        gusp_ms, gusp_used_ms, tipg_first_ms, tipg_ms = (statistics.median(v) for v in (gusp_laps, gusp_in_use, tipg_laps,
                                                                                       tipg_again))

        kb = lambda n: f"{n / 1024:,.0f} KB"  # noqa: E731
        cold_bytes = sum(size for _, size in cold["requests"])
        warm_bytes = sum(size for _, size in warm["requests"])
        zooms = sorted({p.split("/api/v1/tiles/", 1)[1].split("/")[0] for p in tiles})
        print(f"Machine: {common.machine()}")
        print(f"Database: {versions.split(' on ')[0]}; tipg {tipg_version} in its own venv (bench/.venv-tipg)")
        print(f"Data: {total:,} reports" + (f" generated in {generation:.0f} s" if generation else "")
              + f"; {in_window:,} in `/carte`'s default window (since {since}, today {today}).")
        print(f"First view: {len(tiles)} tiles at zoom {', '.join(zooms)} + the counts; page summary: « {cold['summary']} ».\n")
        print("| what | requests | bytes | time |")
        print("|---|---:|---:|---:|")
        print(f"| `/carte` in Chromium, fresh server (to `data-ready`) | {len(cold['requests'])} | {kb(cold_bytes)} | {cold['ms']:,.0f} ms |")
        print(f"| `/carte` in Chromium again (server cache warm) | {len(warm['requests'])} | {kb(warm_bytes)} | {warm['ms']:,.0f} ms |")
        print(f"| GUSP: the same tiles + counts, HTTP client, tile cache empty | {len(tiles) + 1} | {kb(gusp_bytes)} | {gusp_ms:,.0f} ms |")
        print(f"| GUSP: the same view for one more day, same server (connections in use), tile cache empty | {len(tiles) + 1} "
              f"| {kb(gusp_bytes)} | {gusp_used_ms:,.0f} ms |")
        print(f"| tipg: the same tiles, same window and properties, first time asked | {len(tiles)} | {kb(tipg_bytes)} | {tipg_first_ms:,.0f} ms |")
        print(f"| tipg: the same tiles again | {len(tiles)} | {kb(tipg_bytes)} | {tipg_ms:,.0f} ms |")
        print(f"| former `/carte`: triage-list pages of 500 (at most 10) | {min(10, -(-rows // 500))} | {kb(old_bytes)} | {old_ms:,.0f} ms |")
        print()
        print(f"Median of {args.runs} runs, each on servers started afresh, then warmed as a server in use is "
              f"({CONNECTIONS} parallel requests for the perimeters: pooled connections with PostGIS loaded); "
              f"{CONNECTIONS} connections at a time, as a browser per host.")
        print(f"Ratio GUSP / tipg (tile cache empty vs tipg's first time): {gusp_ms / tipg_first_ms:.2f}× the time, "
              f"{gusp_bytes / max(1, tipg_bytes):.2f}× the bytes; servers in use (GUSP another filter set, tile cache "
              f"empty, vs tipg again): {gusp_used_ms / tipg_ms:.2f}× the time.")
        print(f"Reports in the view's tiles: GUSP {shown:,} (points + group counts), `/api/v1/stats/map` {table_total:,}, "
              f"SQL {in_window:,}; tipg {tipg_features:,} features; former `/carte` {rows:,} rows.")
    finally:
        for server in servers:
            stop(server)
        if scratch:
            db.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
