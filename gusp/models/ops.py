"""What the operators watch: each worker's last sign of life."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from gusp.db import Base


class WorkerHeartbeat(Base):
    """One row per running `gusp worker` (host and pid), touched at every cycle."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<host>:<pid>"
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    cycles: Mapped[int] = mapped_column(Integer, default=0)
