"""Categories are data: seeded from `data/categories.json`, read by intake and the API."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gusp.models import Category


def seed(*, session: Session, path: Path) -> int:
    """Upsert the file's categories by code; categories no longer in the file become inactive."""
    entries = json.loads(path.read_text(encoding="utf-8"))["categories"]
    rows = [
        {
            "code": e["code"],
            "label": e["label"],
            "description": e.get("description"),
            "icon": e.get("icon"),
            "position": i,
            "active": True,
        }
        for i, e in enumerate(entries)
    ]
    stmt = insert(Category).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Category.code],
        set_={c: stmt.excluded[c] for c in ("label", "description", "icon", "position", "active")},
    )
    session.execute(stmt)
    session.execute(update(Category).where(Category.code.not_in([r["code"] for r in rows])).values(active=False))
    session.flush()
    return len(rows)


def list_active(*, session: Session) -> list[Category]:
    return list(session.scalars(select(Category).where(Category.active).order_by(Category.position)))


def get_active(*, session: Session, code: str) -> Category | None:
    return session.scalars(select(Category).where(Category.code == code, Category.active)).first()
