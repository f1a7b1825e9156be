"""Query arguments of the GET methods: W3C dates, the 90-day window, paging, comma lists.

"Optional" in GeoReport v2 means that an empty argument is the same as an absent one. Dates are
the W3C profile of ISO 8601; a time needs its zone (Z or ±hh:mm), a bare date is midnight in
GUSP's time zone. A range may not span more than 90 days; without one, the last 90 days.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gusp import errors

WINDOW = timedelta(days=90)
PAGE_SIZE_DEFAULT = 1000  # "first 1000 requests returned"
PAGE_SIZE_MAX = 1000
IDS_MAX = 1000
_W3C = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?(?P<tz>Z|[+-]\d{2}:\d{2}))?)?)?$"
)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_datetime(value: str, *, field: str, tz: ZoneInfo) -> datetime:
    """A W3C date-time (zone required when there is a time) or date (midnight, GUSP time zone)."""
    # An unencoded "+" of a zone offset arrives as a space.
    match = _W3C.match(value.replace(" ", "+"))
    try:
        if match is None:
            raise ValueError(value)
        parts = match.groupdict()
        day = date(int(parts["y"]), int(parts["m"] or 1), int(parts["d"] or 1))
        if parts["H"] is None:
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        text = f"{day.isoformat()}T{parts['H']}:{parts['M']}:{parts['S'] or '00'}"
        if parts["f"]:
            text += "." + parts["f"][:6].ljust(6, "0")
        return datetime.fromisoformat(text + ("+00:00" if parts["tz"] == "Z" else parts["tz"]))
    except ValueError:
        raise errors.BadRequest(
            "date_invalide",
            f"{field} : date invalide « {value} » ; format attendu W3C, par exemple 2026-01-31T08:00:00Z.",
            field=field,
        ) from None


def window(*, start_date: str | None, end_date: str | None, now: datetime, tz: ZoneInfo) -> Window:
    """The range of requested_datetime: at most 90 days, the last 90 days by default."""
    start = parse_datetime(start_date, field="start_date", tz=tz) if start_date else None
    end = parse_datetime(end_date, field="end_date", tz=tz) if end_date else None
    if start is None and end is None:
        return Window(start=now - WINDOW, end=now)
    if start is None:
        return Window(start=end - WINDOW, end=end)
    if end is None:
        return Window(start=start, end=start + WINDOW)
    if end < start:
        raise errors.BadRequest(
            "periode_invalide", "end_date précède start_date : inversez-les.", field="end_date"
        )
    if end - start > WINDOW:
        raise errors.BadRequest(
            "periode_trop_longue",
            "La période de start_date à end_date ne peut dépasser 90 jours : découpez la recherche.",
            field="end_date",
        )
    return Window(start=start, end=end)


def page(*, page: str | None, page_size: str | None) -> Page:
    """The paging extension: `page` from 1, `page_size` from 1 to 1000 (1000 by default)."""
    number = _positive(page, field="page", default=1, maximum=None)
    size = _positive(page_size, field="page_size", default=PAGE_SIZE_DEFAULT, maximum=PAGE_SIZE_MAX)
    return Page(number=number, size=size)


def _positive(value: str | None, *, field: str, default: int, maximum: int | None) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1 or (maximum is not None and int(value) > maximum):
        bound = f"entre 1 et {maximum}" if maximum else "supérieur ou égal à 1"
        raise errors.BadRequest("pagination_invalide", f"{field} doit être un entier {bound}.", field=field)
    return int(value)


def comma_list(values: Sequence[str]) -> list[str]:
    """Arguments "declared multiple times, comma delimited": both repeated and comma-separated."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            if part := part.strip():
                seen.setdefault(part, None)
    return list(seen)


def flag(value: str | None) -> bool:
    """`extensions=true` (also 1, yes, oui): anything else is false."""
    return (value or "").strip().lower() in {"true", "1", "yes", "oui"}
