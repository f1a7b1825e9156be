"""Walking diagnostics (diagnostics en marchant), their numbered findings, and the meeting packs issued.

A finding of kind `probleme` IS a report (made through the normal intake, author = the agent):
it follows the workflow and counts in the statistics. A `point_positif` is not a report: its
description, location and photos live here, its photos in `diagnostic_photos` (same storage and
content-hash keys as report photos, but a table of its own so that every report photo keeps a report).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gusp import states
from gusp.db import Base, Timestamped
from gusp.models.partners import Partner
from gusp.models.reports import PhotoRenditions, Quartier, Report


class FindingKind(StrEnum):
    PROBLEME = "probleme"
    POINT_POSITIF = "point_positif"


FINDING_LABELS = {FindingKind.PROBLEME: "Problème", FindingKind.POINT_POSITIF: "Point positif"}


class DiagnosticPartner(Base):
    """A partner invited to the walk: its members read the diagnostic and its restitution."""

    __tablename__ = "diagnostic_partners"

    diagnostic_id: Mapped[int] = mapped_column(ForeignKey("diagnostics.id", ondelete="CASCADE"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True, index=True)


class Diagnostic(Timestamped, Base):
    __tablename__ = "diagnostics"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    quartier_id: Mapped[int] = mapped_column(ForeignKey("quartiers.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    participants: Mapped[str] = mapped_column(Text, default="", server_default="")
    route = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=True)
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    quartier: Mapped[Quartier] = relationship(lazy="joined")
    partners: Mapped[list[Partner]] = relationship(
        secondary="diagnostic_partners", order_by="Partner.name", lazy="selectin"
    )


class DiagnosticFinding(Timestamped, Base):
    __tablename__ = "diagnostic_findings"
    __table_args__ = (
        UniqueConstraint("diagnostic_id", "number", name="uq_diagnostic_findings_number"),
        CheckConstraint(f"kind IN ({states.sql_in(FindingKind)})", name="kind"),
        # A problem is its report; a positive point carries its own place.
        CheckConstraint(
            "(kind = 'probleme' AND report_id IS NOT NULL AND location IS NULL)"
            " OR (kind = 'point_positif' AND report_id IS NULL AND location IS NOT NULL)",
            name="kind_fields",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    diagnostic_id: Mapped[int] = mapped_column(ForeignKey("diagnostics.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), unique=True)
    description: Mapped[str | None] = mapped_column(Text)  # positive points only: a problem's is on its report
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    report: Mapped[Report | None] = relationship(lazy="joined")
    photos: Mapped[list[DiagnosticPhoto]] = relationship(order_by="DiagnosticPhoto.position", lazy="selectin")


class DiagnosticPhoto(PhotoRenditions, Timestamped, Base):
    """A positive point's photo: the same renditions and keys as `report_photos`."""

    __tablename__ = "diagnostic_photos"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_findings.id", ondelete="CASCADE"), index=True)


class MeetingPack(Base):
    """A meeting pack issued: its key figures are kept so the next pack can say what changed since."""

    __tablename__ = "meeting_packs"
    __table_args__ = (Index("ix_meeting_packs_quartiers_at", "quartier_codes", "generated_at"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    quartier_codes: Mapped[list[str]] = mapped_column(ARRAY(String(64)))  # sorted: the same set, the same array
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    generated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    figures: Mapped[dict] = mapped_column(JSONB, default=dict)
    # The PDF as issued (deferred: a list of packs never loads them); NULL for packs issued before 0010.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    title: Mapped[str | None] = mapped_column(Text)
