"""Who fixes what: partners, the management zones they hold, and routing rules as data."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, Boolean, CheckConstraint, ForeignKey, Identity, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gusp import states
from gusp.db import Base, Timestamped


class Partner(Timestamped, Base):
    __tablename__ = "partners"
    __table_args__ = (CheckConstraint(f"kind IN ({states.sql_in(states.PartnerKind)})", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    emails: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    delay_days: Mapped[int | None] = mapped_column(Integer)  # default deadline for its reports
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ManagementZone(Timestamped, Base):
    """Who manages the ground: a bailleur's land, the Ville's or the Métropole's public space."""

    __tablename__ = "management_zones"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)


class RoutingRule(Timestamped, Base):
    """(category, optional quartier, optional zone) → partner; the most specific match wins."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        UniqueConstraint("category_code", "quartier_id", "zone_id", name="uq_routing_rules_key",
                         postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("management_zones.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
