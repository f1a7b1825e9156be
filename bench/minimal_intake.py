"""The yardstick of the intake benchmark: the least a FastAPI + psycopg intake can do.

One form, one `ST_Covers` to find the quartier, one INSERT: two statements, no validation of
categories, no service area, no duplicates, no routing, no event, no throttling. Served by
uvicorn (`uvicorn minimal_intake:app`) with BENCH_DATABASE_URL (a psycopg conninfo or URL).
"""

from __future__ import annotations

import os
import queue
from contextlib import contextmanager
from typing import Annotated

import psycopg
from fastapi import FastAPI, Form

app = FastAPI()
_POOL: queue.Queue[psycopg.Connection] = queue.Queue()
_SIZE = 8


@contextmanager
def connection():
    if _POOL.empty() and _connections() < _SIZE:
        _POOL.put(psycopg.connect(os.environ["BENCH_DATABASE_URL"], autocommit=True))
    conn = _POOL.get()
    try:
        yield conn
    finally:
        _POOL.put(conn)


def _connections(count=[0]) -> int:  # noqa: B006 (a counter)
    count[0] += 1
    return count[0] - 1


@app.on_event("startup")
def create_table() -> None:
    with psycopg.connect(os.environ["BENCH_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_minimal_reports (id bigserial PRIMARY KEY, category text,"
                     " description text, location geometry(Point, 4326), quartier_id int,"
                     " created_at timestamptz DEFAULT now())")


@app.post("/api/v1/reports", status_code=201)
def create(category: Annotated[str, Form()], description: Annotated[str, Form()], lat: Annotated[float, Form()],
           lon: Annotated[float, Form()]) -> dict:
    with connection() as conn:
        row = conn.execute("SELECT id FROM quartiers WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
                           " LIMIT 1", (lon, lat)).fetchone()
        quartier = row[0] if row else None
        report_id = conn.execute(
            "INSERT INTO bench_minimal_reports (category, description, location, quartier_id)"
            " VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s) RETURNING id",
            (category, description, lon, lat, quartier),
        ).fetchone()[0]
    return {"id": report_id, "quartier_id": quartier}
