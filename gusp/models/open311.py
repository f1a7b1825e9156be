"""Open311 both ways: client applications that send us reports, partners we send reports to.

A client application has its own API key, shown once and stored as a SHA-256 hash; a report made
through Open311 points to its client (`reports.open311_client_id`), so the event log and the
statistics can tell which application brought it in. A partner may receive its reports on its own
Open311 server: its link, what was sent there and the updates read back are kept here too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
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


class PartnerOpen311(Timestamped, Base):
    """A partner that receives its assigned reports by Open311 (GUSP is then the client).

    The key is the partner's secret for us: it is stored as given, since it must be sent, and
    never shown again through the API (only its first characters).
    """

    __tablename__ = "partner_open311"
    __table_args__ = (CheckConstraint("photos IN ('upload', 'media_url', 'none')", name="photos"),)

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300))  # the base URL, e.g. https://example.org/open311/v2
    api_key: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[str | None] = mapped_column(String(200))
    # GUSP category code -> the partner's service_code; a category not listed keeps its own code.
    service_codes: Mapped[dict] = mapped_column(JSONB, default=dict)
    # How photos travel: file parts (FixMyStreet's upload mode), public media_url links, or not at all.
    photos: Mapped[str] = mapped_column(String(16), default="upload", server_default="upload")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    poll_updates: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    polled_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # end of the last window read
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_poll_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Open311Transmission(Base):
    """A report sent to a partner's Open311 server, and the id that server gave it."""

    __tablename__ = "open311_transmissions"
    __table_args__ = (
        UniqueConstraint("report_id", "partner_id", name="uq_open311_transmissions_report_partner"),
        UniqueConstraint("partner_id", "remote_id", name="uq_open311_transmissions_partner_remote"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    remote_id: Mapped[str | None] = mapped_column(String(100))  # None while only a token is known
    token: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Open311RemoteUpdate(Base):
    """An update read from a partner's server, recorded so that it is applied once."""

    __tablename__ = "open311_remote_updates"
    __table_args__ = (UniqueConstraint("partner_id", "update_id", name="uq_open311_remote_updates_partner_update"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    update_id: Mapped[str] = mapped_column(String(100))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    status: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))  # what GUSP did with it (gusp.open311.outbound.polling)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Open311UpdateReceipt(Base):
    """A comment POSTed by a client application: one event per update_id, key or identical retry."""

    __tablename__ = "open311_update_receipts"
    __table_args__ = (
        UniqueConstraint("client_id", "update_id", name="uq_open311_update_receipts_client_update"),
        UniqueConstraint("client_id", "idempotency_key", name="uq_open311_update_receipts_client_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("open311_clients.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("report_events.id"))
    update_id: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
