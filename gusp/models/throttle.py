"""Counters of rate limits, and the clients that signed in before (kept in PostgreSQL: no other service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Identity, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from gusp.db import Base


class RateCounter(Base):
    """Events counted under a key (`intake-ip:…`, `mail-to:…`) in one fixed window."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class KnownClient(Base):
    """A device (long-lived cookie, hashed) or an address from which a user signed in successfully."""

    __tablename__ = "known_clients"
    __table_args__ = (Index("ix_known_clients_user", "user_id", "kind", "value_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "device" or "ip"
    value_hash: Mapped[str] = mapped_column(String(64))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
