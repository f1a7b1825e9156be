"""What of a report may be public: its photos, its place, its text. Rules only, no rendering.

A photo is public when its report is published (GUSP_PUBLIC_MODERATION), its category lets photos
be public, and no coordinator hid it. The place is public as coordinates unless the category says
`quartier`. These rules do not know how a public rendition is made (blurring is the photo
pipeline's business): they decide which stored renditions may be served without sign-in.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select

from gusp.models import Category, Report, ReportPhoto

LOCATION_EXACT = "exact"
LOCATION_QUARTIER = "quartier"
LOCATION_CHOICES = (LOCATION_EXACT, LOCATION_QUARTIER)


def photos_public(report: Report) -> bool:
    """May any photo of this report be public (moderation and category), whatever each photo's flag."""
    return report.published and report.category.photos_public


def photo_is_public(report: Report, photo: ReportPhoto) -> bool:
    return photos_public(report) and not photo.hidden


def public_photos(report: Report, kind: str) -> list[ReportPhoto]:
    return [p for p in report.photos if p.kind == kind and photo_is_public(report, p)]


def location_is_public(report: Report) -> bool:
    return report.category.location_public != LOCATION_QUARTIER


def row_is_public() -> ColumnElement[bool]:
    """SQL, over report_photos joined to reports and categories: the same rule as `photo_is_public`."""
    return and_(~ReportPhoto.hidden, Report.published, Category.photos_public)


def key_is_public(key: str) -> ColumnElement[bool]:
    """SQL: a stored rendition named `key` belongs to a photo that may be served without sign-in."""
    return exists(
        select(ReportPhoto.id)
        .join(Report, Report.id == ReportPhoto.report_id)
        .join(Category, Category.code == Report.category_code)
        .where(
            or_(ReportPhoto.display_key == key, ReportPhoto.thumbnail_key == key),
            row_is_public(),
        )
    )
