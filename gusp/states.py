"""Statuses of a report, their groups, French labels and the one transition table; the other
closed vocabularies of the data (sources, roles, priorities, reasons, partner kinds)."""

from __future__ import annotations

from enum import StrEnum


class ReportStatus(StrEnum):
    NOUVEAU = "nouveau"
    PRIS_EN_COMPTE = "pris_en_compte"
    EN_COURS = "en_cours"
    RESOLU = "resolu"
    CLOS = "clos"
    REJETE = "rejete"


STATUS_LABELS: dict[ReportStatus, str] = {
    ReportStatus.NOUVEAU: "Nouveau",
    ReportStatus.PRIS_EN_COMPTE: "Pris en compte",
    ReportStatus.EN_COURS: "En cours de traitement",
    ReportStatus.RESOLU: "Résolu",
    ReportStatus.CLOS: "Clos",
    ReportStatus.REJETE: "Rejeté",
}

OPEN = frozenset({ReportStatus.NOUVEAU, ReportStatus.PRIS_EN_COMPTE, ReportStatus.EN_COURS})
RESOLVED = frozenset({ReportStatus.RESOLU})
CLOSED = frozenset({ReportStatus.CLOS, ReportStatus.REJETE})

# The only transitions there are. `triage.change_status` is the one place that applies them.
# Reopening: a resolved report goes back to `pris_en_compte` (its partner stays in charge), a
# rejected one back to `nouveau` (to be qualified again). `clos` is final.
TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.NOUVEAU: frozenset({ReportStatus.PRIS_EN_COMPTE, ReportStatus.RESOLU, ReportStatus.REJETE}),
    ReportStatus.PRIS_EN_COMPTE: frozenset({ReportStatus.EN_COURS, ReportStatus.RESOLU, ReportStatus.REJETE}),
    ReportStatus.EN_COURS: frozenset({ReportStatus.RESOLU, ReportStatus.REJETE}),
    ReportStatus.RESOLU: frozenset({ReportStatus.CLOS, ReportStatus.PRIS_EN_COMPTE}),
    ReportStatus.REJETE: frozenset({ReportStatus.NOUVEAU}),
    ReportStatus.CLOS: frozenset(),
}


class RejectionReason(StrEnum):
    HORS_COMPETENCE = "hors_competence"
    DOUBLON = "doublon"
    NON_FONDE = "non_fonde"
    HORS_PERIMETRE = "hors_perimetre"
    AUTRE = "autre"


class Priority(StrEnum):
    BASSE = "basse"
    NORMALE = "normale"
    HAUTE = "haute"
    URGENTE = "urgente"


class Role(StrEnum):
    AGENT = "agent"  # field agent: reports, sees his own
    COORDINATEUR = "coordinateur"  # GUSP: everything
    PARTENAIRE = "partenaire"  # member of one partner: what is assigned to it
    GROUPE = "groupe"  # operational group: reads its quartiers' reports, comments
    ADMIN = "admin"


class PartnerKind(StrEnum):
    VILLE = "ville"
    METROPOLE = "metropole"
    BAILLEUR = "bailleur"
    ETAT = "etat"
    ASSOCIATION = "association"
    AUTRE = "autre"


class Source(StrEnum):
    """Where a report came from; `agent` is bound to a signed-in field agent."""

    WEB = "web"
    AGENT = "agent"
    API = "api"
    OPEN311 = "open311"  # an Open311 GeoReport v2 client; which one is on the report and its event


class Attribution(StrEnum):
    """How the quartier of a report was found."""

    PERIMETRE = "perimetre"  # inside or on the boundary of a perimeter
    HORS_PERIMETRE = "hors_perimetre"  # outside every perimeter: nearest one recorded


class QuartierType(StrEnum):
    QPV = "QPV"
    QUARTIER_DE_VEILLE = "quartier_de_veille"


class EventKind(StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    CATEGORY_CHANGED = "category_changed"
    PRIORITY_CHANGED = "priority_changed"
    COMMENTED = "commented"
    MERGED = "merged"  # on the duplicate: it now points to its master
    DUPLICATE_ATTACHED = "duplicate_attached"  # on the master: one more similar report
    PHOTO_HIDDEN = "photo_hidden"  # a coordinator took a photo off the public surfaces (gusp.public)
    PHOTO_SHOWN = "photo_shown"
    PUBLISHED = "published"  # GUSP_PUBLIC_MODERATION=before: description and photos made public
    PHOTOS_PURGED = "photos_purged"  # retention: the photos of a long-closed report deleted
    PHOTO_BLURRED = "photo_blurred"  # a coordinator blurred rectangles of a photo (staff only)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; kept, visible, never lost


def sql_in(values: type[StrEnum]) -> str:
    """The SQL list of an enum's values, for CHECK constraints."""
    return ", ".join(f"'{v.value}'" for v in values)
