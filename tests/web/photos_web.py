"""Real JPEG files for the browser's file inputs, and reports made through the real intake."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from gusp import db, intake, schemas, storage
from gusp.config import Settings
from tests import builders


def jpeg_file(folder: Path, name: str, *, size: tuple[int, int] = (1600, 1200), colour: tuple[int, int, int] = (90, 120, 60)) -> Path:
    """A photo-like JPEG (gradient and shapes, as a camera would give): several hundred kilobytes."""
    width, height = size
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 8):
        shade = int(255 * y / height)
        draw.rectangle([0, y, width, y + 8], fill=(colour[0], shade, 255 - shade))
    draw.ellipse([width // 4, height // 4, width // 2, height // 2], fill=(230, 230, 40))
    draw.rectangle([width // 2, height // 2, width * 3 // 4, height * 3 // 4], fill=(40, 40, 40))
    path = folder / name
    image.save(path, format="JPEG", quality=90)
    return path


def make_report(settings: Settings, *, quartier: str = builders.ENCAGNANE, photo: bool = True, **fields: object) -> str:
    """A report committed through the real intake; its reference."""
    with db.command_session(settings.database_url) as session:
        data = schemas.ReportCreate.model_validate(builders.form(session, quartier=quartier, **fields))
        uploads = [io.BytesIO(builders.jpeg())] if photo else []
        report, _ = intake.create_report(session=session, settings=settings, storage=storage.from_settings(settings),
                                         data=data, uploads=uploads, idempotency_key=None)
        return report.reference


def point_in(settings: Settings, code: str = builders.ENCAGNANE) -> tuple[float, float]:
    with db.command_session(settings.database_url) as session:
        return builders.point_in(session, code)
