"""Categories are data: seeded from `data/categories.json`, read by intake and the API.

The file's `families` give each category its family and keywords (Open311 `group` and `keywords`).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gusp.models import Category


def seed(*, session: Session, path: Path) -> int:
    """Upsert the file's categories by code; categories no longer in the file become inactive."""
    document = json.loads(path.read_text(encoding="utf-8"))
    entries = document["categories"]
    families = _families(document.get("families", []))
    rows = [
        {
            "code": e["code"],
            "label": e["label"],
            "description": e.get("description"),
            "icon": e.get("icon"),
            "position": i,
            "active": True,
            "family": families.get(e["code"], (None, []))[0],
            "keywords": families.get(e["code"], (None, []))[1],
            # Sensitive categories (gusp.public): see the README, « Données personnelles ».
            "photos_public": bool(e.get("photos_public", True)),
            "location_public": e.get("location_public", "exact"),
        }
        for i, e in enumerate(entries)
    ]
    stmt = insert(Category).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Category.code],
        set_={c: stmt.excluded[c] for c in ("label", "description", "icon", "position", "active", "family",
                                            "keywords")}
        # The file can only make a category more private: what an admin tightened stays tight.
        | {"photos_public": Category.photos_public & stmt.excluded.photos_public,
           "location_public": case((stmt.excluded.location_public == "quartier", "quartier"),
                                   else_=Category.location_public)},
    )
    session.execute(stmt)
    session.execute(update(Category).where(Category.code.not_in([r["code"] for r in rows])).values(active=False))
    session.flush()
    return len(rows)


def _families(families: list[dict]) -> dict[str, tuple[str, list[str]]]:
    """Category code -> (family label, keywords)."""
    return {code: (f["label"], list(words)) for f in families for code, words in f["categories"].items()}


def list_active(*, session: Session) -> list[Category]:
    return list(session.scalars(select(Category).where(Category.active).order_by(Category.position)))


def get_active(*, session: Session, code: str) -> Category | None:
    return session.scalars(select(Category).where(Category.code == code, Category.active)).first()
