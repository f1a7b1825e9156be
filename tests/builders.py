"""Plain builder functions for tests: valid inputs, points in quartiers, stored reports."""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Sequence

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import accounts, credentials, intake, schemas, storage
from gusp.config import Settings
from gusp.models import Quartier, Report, User, UserQuartier

_numbers = itertools.count(1)
JAS_DE_BOUFFAN = "QN01313M"
ENCAGNANE = "QN01315M"


def point_in(session: Session, code: str) -> tuple[float, float]:
    """(lat, lon) of a point surely inside the quartier's perimeter."""
    point = session.execute(
        select(func.ST_Y(func.ST_PointOnSurface(Quartier.geom)), func.ST_X(func.ST_PointOnSurface(Quartier.geom)))
        .where(Quartier.code == code)
    ).one()
    return float(point[0]), float(point[1])


def form(session: Session, *, quartier: str = ENCAGNANE, **overrides: object) -> dict[str, str]:
    """The multipart text fields of a valid report inside a quartier."""
    lat, lon = point_in(session, quartier)
    fields: dict[str, object] = {
        "category": "proprete",
        "description": "Dépôt sauvage de sacs au pied du bâtiment B.",
        "lat": lat,
        "lon": lon,
        "accuracy_m": 8,
    }
    fields.update(overrides)
    return {k: str(v) for k, v in fields.items() if v is not None}


def jpeg(width: int = 640, height: int = 480, colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def make_report(
    session: Session,
    settings: Settings,
    *,
    photos: Sequence[bytes] = (),
    idempotency_key: str | None = None,
    **overrides: object,
) -> Report:
    data = schemas.ReportCreate.model_validate(form(session, **overrides))
    report, _ = intake.create_report(
        session=session,
        settings=settings,
        storage=storage.from_settings(settings),
        data=data,
        uploads=[io.BytesIO(p) for p in photos],
        idempotency_key=idempotency_key,
    )
    return report


@functools.cache
def _password_hash() -> str:
    return accounts.hash_password("mot de passe de test assez long")  # argon2 is slow on purpose: once


def staff(session: Session, role: str = "coordinateur", *, partner_id: int | None = None,
          quartier_ids: Sequence[int] = (), name: str | None = None) -> tuple[User, dict[str, str]]:
    """A member of staff and the headers of a personal API token of theirs (no CSRF needed)."""
    name = name or f"{role}-{next(_numbers)}"
    user = User(email=f"{name}@gusp.example", full_name=name.title(), password_hash=_password_hash(), role=role,
                partner_id=partner_id, active=True)
    session.add(user)
    session.flush()
    session.add_all(UserQuartier(user_id=user.id, quartier_id=q) for q in quartier_ids)
    token, _ = credentials.create_api_token(session=session, user=user, name="tests")
    return user, {"Authorization": f"Bearer {token}"}


def stored_files(settings: Settings) -> list[str]:
    """Every file under the media directory, relative names sorted."""
    root = settings.media_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
