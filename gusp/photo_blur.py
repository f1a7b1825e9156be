"""Blurring more of a report photo after intake: rectangles a coordinator draws (plates, a face missed).

The public renditions are re-made from the unblurred original with every region the photo has
(faces found at intake, rectangles drawn before, the new ones), so that blurs never pile up in
JPEG generations; the original stays staff-only. A photo whose original is gone (retention) is
re-made from its public display, which already has every earlier region blurred.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import errors, states
from gusp.config import Settings
from gusp.models import Report, ReportEvent, ReportPhoto, User
from gusp.photos import blur, pipeline
from gusp.storage import PhotoStorage, sweep

MIN_SIDE = 4  # px of the display: a smaller rectangle is a slip of the pointer


def photo_of(report: Report, photo_id: int) -> ReportPhoto:
    """One photo of this report (before or after), or the same 404 as a photo that doesn't exist."""
    photo = next((p for p in report.photos if p.id == photo_id), None)
    if photo is None:
        raise errors.NotFound("photo_introuvable", "Ce signalement n'a pas de photo n° {}.".format(photo_id))
    return photo


def add_rectangles(
    *,
    session: Session,
    settings: Settings,
    storage: PhotoStorage,
    report: Report,
    photo: ReportPhoto,
    rectangles: Sequence[blur.Region],
    actor: User,
) -> ReportPhoto:
    """Blur these rectangles (display pixels) in the photo's public renditions; an event on the staff timeline."""
    clipped = [_clip(r, photo, index) for index, r in enumerate(rectangles)]
    regions = [*blur.from_json(photo.blur_regions), *clipped]
    source_key = photo.original_key or photo.display_key
    with storage.open(source_key) as stream:
        source = stream.read()
    display, thumbnail = pipeline.remake(source, regions, settings=settings)
    sweep.hold(session, [display.key, thumbnail.key])
    storage.put(display.key, display.data)
    storage.put(thumbnail.key, thumbnail.data)
    if photo.original_key is None and not photo.blur_regions:
        photo.original_key = photo.display_key  # nothing was blurred: the old display is the original
    photo.display_key, photo.thumbnail_key = display.key, thumbnail.key
    photo.thumbnail_width, photo.thumbnail_height = thumbnail.width, thumbnail.height
    photo.blur_regions = [*photo.blur_regions, *blur.as_json(clipped, source=blur.MANUAL)]
    session.add(ReportEvent(
        report_id=report.id, kind=states.EventKind.PHOTO_BLURRED, at=session.scalar(select(func.now())),
        actor=actor.full_name, actor_user_id=actor.id,
        data={"photo_id": photo.id, "position": photo.position, "kind": photo.kind, "rectangles": len(clipped),
              "regions": [[r.x, r.y, r.w, r.h] for r in clipped]},
        note=None, note_public=False,
    ))
    session.flush()
    return photo


def _clip(region: blur.Region, photo: ReportPhoto, index: int) -> blur.Region:
    """The rectangle within the photo, or a 422 naming it if too little of it is on the photo."""
    x0, y0 = max(0, region.x), max(0, region.y)
    x1, y1 = min(photo.width, region.x + region.w), min(photo.height, region.y + region.h)
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        raise errors.Unprocessable(
            "zone_hors_photo",
            f"Le rectangle n° {index + 1} sort de la photo ({photo.width} × {photo.height} pixels) ou fait "
            f"moins de {MIN_SIDE} pixels de côté.",
            field="rectangles", index=index,
        )
    return blur.Region(x0, y0, x1 - x0, y1 - y0)
