"""Open311 client applications: each has its own API key, shown once and stored as a SHA-256 hash.

A report made through Open311 points to its client (`reports.open311_client_id`), so the event
log and the statistics can tell which application brought it in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Identity, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gusp.db import Base, Timestamped


class Open311Client(Timestamped, Base):
    __tablename__ = "open311_clients"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to recognise it in a list
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
