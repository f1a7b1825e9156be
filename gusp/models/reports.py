"""Quartiers, categories, reports and what hangs on them. EPSG:4326 with GiST indexes; statuses are checked text."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gusp import states
from gusp.db import Base, MediaKey, Timestamped

if TYPE_CHECKING:
    from gusp.models.partners import Partner
    from gusp.photos import ProcessedPhoto


class Quartier(Timestamped, Base):
    __tablename__ = "quartiers"
    __table_args__ = (CheckConstraint(f"type IN ({states.sql_in(states.QuartierType)})", name="type"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    nom: Mapped[str] = mapped_column(String(200))
    commune: Mapped[str | None] = mapped_column(String(200))
    insee: Mapped[str | None] = mapped_column(String(5))
    type: Mapped[str] = mapped_column(String(32))
    population: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ServiceArea(Base):
    """Per commune, the hull of its perimeters: reports are accepted within a margin of it."""

    __tablename__ = "service_areas"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    commune: Mapped[str | None] = mapped_column(String(200))
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=True), nullable=False)


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (CheckConstraint("location_public IN ('exact', 'quartier')", name="location_public"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The family it belongs to (Open311 `group`) and words residents use for it (Open311 `keywords`).
    family: Mapped[str | None] = mapped_column(String(100))
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    # Likely duplicates: open reports of the category within this radius (metres).
    duplicate_radius_m: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    delay_days: Mapped[int | None] = mapped_column(Integer)  # deadline, before the partner's
    # Sensitive categories (gusp.public): photos never public, and/or the place public only as its quartier.
    photos_public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    location_public: Mapped[str] = mapped_column(String(16), default="exact", server_default="exact")


class Report(Timestamped, Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(f"status IN ({states.sql_in(states.ReportStatus)})", name="status"),
        CheckConstraint(f"source IN ({states.sql_in(states.Source)})", name="source"),
        CheckConstraint(f"attribution IN ({states.sql_in(states.Attribution)})", name="attribution"),
        CheckConstraint(
            "(attribution = 'perimetre' AND quartier_id IS NOT NULL)"
            " OR (attribution = 'hors_perimetre' AND quartier_id IS NULL)",
            name="attribution_quartier",
        ),
        Index("ix_reports_created_at", "created_at"),
        CheckConstraint(f"priority IN ({states.sql_in(states.Priority)})", name="priority"),
        CheckConstraint(
            f"rejection_reason IS NULL OR rejection_reason IN ({states.sql_in(states.RejectionReason)})",
            name="rejection_reason",
        ),
        CheckConstraint("master_report_id IS NULL OR master_report_id <> id", name="not_own_master"),
        # A report from an Open311 client names that client; no other report does.
        CheckConstraint("(source = 'open311') = (open311_client_id IS NOT NULL)", name="open311_client"),
        # Likely duplicates are searched in metres, on geography, among the candidates only (migration
        # 0016): flat however many reports are closed. (0017 dropped the index of every report.)
        Index("ix_reports_open_location_geog", text("(location::geography)"), postgresql_using="gist",
              postgresql_where="status IN ('nouveau', 'pris_en_compte', 'en_cours') AND master_report_id IS NULL"),
        # Text search of the triage list, in French (stemming: « poubelles » finds « poubelle »).
        Index("ix_reports_description_fts", text("to_tsvector('french', description)"), postgresql_using="gin"),
        Index("ix_reports_due_open", "due_at", postgresql_where="status IN ('nouveau', 'pris_en_compte', 'en_cours')"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # Attribution snapshot, taken at intake: later perimeter changes do not rewrite it.
    attribution: Mapped[str] = mapped_column(String(16))
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id"), index=True)
    nearest_quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id"))
    nearest_distance_m: Mapped[float | None] = mapped_column(Float)
    # Workflow (triage): who is in charge, how urgent, by when, and the milestones.
    priority: Mapped[str] = mapped_column(String(16), default=states.Priority.NORMALE, server_default="normale")
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(String(32))
    master_report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    similar_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # Open311: the client application that sent it, and the token answered by `GET tokens/{token}`.
    open311_client_id: Mapped[int | None] = mapped_column(ForeignKey("open311_clients.id"), index=True)
    open311_token: Mapped[str | None] = mapped_column(String(36), unique=True)
    # GUSP_PUBLIC_MODERATION=before: description and photos stay off public surfaces until published.
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    category: Mapped[Category] = relationship(lazy="joined")
    quartier: Mapped[Quartier | None] = relationship(foreign_keys=[quartier_id], lazy="joined")
    nearest_quartier: Mapped[Quartier | None] = relationship(foreign_keys=[nearest_quartier_id], lazy="joined")
    partner: Mapped[Partner | None] = relationship(lazy="joined")
    photos: Mapped[list[ReportPhoto]] = relationship(
        back_populates="report", order_by="ReportPhoto.position", lazy="selectin"
    )


class ReporterContact(Timestamped, Base):
    """A resident's contact details: personal data, kept apart and never in public views."""

    __tablename__ = "reporter_contacts"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    consent: Mapped[bool] = mapped_column(Boolean)


class PhotoRenditions:
    """The stored renditions of one photo, named by content hash: report and diagnostic photos alike."""

    position: Mapped[int] = mapped_column(Integer)
    # Every stored file is named by a MediaKey column: the media sweep deletes files that none names.
    display_key: Mapped[str] = mapped_column(MediaKey, index=True)
    thumbnail_key: Mapped[str] = mapped_column(MediaKey, index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumbnail_width: Mapped[int] = mapped_column(Integer)
    thumbnail_height: Mapped[int] = mapped_column(Integer)
    source_format: Mapped[str] = mapped_column(String(16))

    @staticmethod
    def columns(photo: ProcessedPhoto, *, position: int) -> dict[str, object]:
        """The column values of a processed photo's renditions."""
        return {
            "position": position,
            "display_key": photo.display.key,
            "thumbnail_key": photo.thumbnail.key,
            "width": photo.display.width,
            "height": photo.display.height,
            "thumbnail_width": photo.thumbnail.width,
            "thumbnail_height": photo.thumbnail.height,
            "source_format": photo.source_format,
        }


class ReportPhoto(PhotoRenditions, Timestamped, Base):
    __tablename__ = "report_photos"
    __table_args__ = (CheckConstraint("kind IN ('signalement', 'apres')", name="kind"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # `signalement`: sent with the report; `apres`: the partner's photo of the work done.
    kind: Mapped[str] = mapped_column(String(16), default="signalement", server_default="signalement")
    # Hidden by a coordinator: off every public surface, its public URL answers 404.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The display unblurred, for coordinators and admins only (GET …/photos/{id}/original); None once
    # purged or for photos taken in before face blurring. Never named on a public surface.
    original_key: Mapped[str | None] = mapped_column(MediaKey, index=True)
    # What the public renditions have blurred, in the display's pixels: [{x, y, w, h, source}],
    # source "visage" (found at intake) or "manuel" (drawn by a coordinator).
    blur_regions: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")

    report: Mapped[Report] = relationship(back_populates="photos")


class ReportEvent(Base):
    """Append-only log (a trigger refuses UPDATE and DELETE): who did what, when, with which note."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    source: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(200))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    note_public: Mapped[bool] = mapped_column(Boolean, default=False)
