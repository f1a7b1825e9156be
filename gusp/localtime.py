"""Dates as people read them: every datetime of the JSON API in the installation's time zone
(Europe/Paris), with its offset — one serializer type, `LocalDatetime`, for all of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import PlainSerializer, WithJsonSchema

_zone = ZoneInfo("Europe/Paris")


def use(name: str) -> None:
    """The zone of `settings.timezone`; set by `create_app` (one zone per installation)."""
    global _zone
    _zone = ZoneInfo(name)


def local(value: datetime) -> datetime:
    return value.astimezone(_zone)


def in_data(data: dict) -> dict:
    """An event's data with its dates (ISO strings with an offset, e.g. `due_at`) in local time."""
    return {key: _local_text(value) if isinstance(value, str) else value for key, value in data.items()}


def _local_text(value: str) -> str:
    if len(value) < 20 or value[10:11] != "T":
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return local(moment).isoformat() if moment.tzinfo is not None else value


def _serialize(value: datetime) -> str:
    return local(value).isoformat()


LocalDatetime = Annotated[
    datetime,
    PlainSerializer(_serialize, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
