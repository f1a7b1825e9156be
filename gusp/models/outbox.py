"""The transactional outbox: a message is a row written with the change that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gusp import states
from gusp.db import Base, Timestamped


class OutboxMessage(Timestamped, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"status IN ({states.sql_in(states.OutboxStatus)})", name="status"),
        Index("ix_outbox_pending", "available_at", postgresql_where="status = 'pending'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # which template
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=states.OutboxStatus.PENDING)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)  # Message-ID header: resends are recognisable
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
