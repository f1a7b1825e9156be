"""Statuses of a report, their groups and French labels; sources of a report.

The transition table arrives with the workflow (triage); intake only ever writes `nouveau`.
"""

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


class Source(StrEnum):
    """Where a report came from; `agent` is bound to a signed-in field agent."""

    WEB = "web"
    AGENT = "agent"
    API = "api"


class Attribution(StrEnum):
    """How the quartier of a report was found."""

    PERIMETRE = "perimetre"  # inside or on the boundary of a perimeter
    HORS_PERIMETRE = "hors_perimetre"  # outside every perimeter: nearest one recorded


class QuartierType(StrEnum):
    QPV = "QPV"
    QUARTIER_DE_VEILLE = "quartier_de_veille"


class EventKind(StrEnum):
    CREATED = "created"


def sql_in(values: type[StrEnum]) -> str:
    """The SQL list of an enum's values, for CHECK constraints."""
    return ", ".join(f"'{v.value}'" for v in values)
