"""The workflow in Open311 words: `open` / `closed`, and FixMyStreet's extended statuses.

GeoReport v2 knows two statuses; `resolu` counts as closed ("it has been resolved"). Clients that
ask for extensions get mySociety's extended statuses, lower case as in their GET responses; a
rejection says why (duplicate, not our responsibility, no further action).
"""

from __future__ import annotations

from gusp import states

OPEN = "open"
CLOSED = "closed"
BASIC = (OPEN, CLOSED)

_EXTENDED: dict[states.ReportStatus, str] = {
    states.ReportStatus.NOUVEAU: "open",
    states.ReportStatus.PRIS_EN_COMPTE: "action_scheduled",  # qualified and handed to the partner in charge
    states.ReportStatus.EN_COURS: "in_progress",
    states.ReportStatus.RESOLU: "fixed",
    states.ReportStatus.CLOS: "closed",
}

_REJECTED: dict[states.RejectionReason, str] = {
    states.RejectionReason.DOUBLON: "duplicate",
    states.RejectionReason.HORS_COMPETENCE: "not_councils_responsibility",
    states.RejectionReason.HORS_PERIMETRE: "not_councils_responsibility",
    states.RejectionReason.NON_FONDE: "no_further_action",
    states.RejectionReason.AUTRE: "no_further_action",
}


def basic(status: str) -> str:
    return OPEN if states.ReportStatus(status) in states.OPEN else CLOSED


def extended(status: str, reason: str | None) -> str:
    status = states.ReportStatus(status)
    if status is states.ReportStatus.REJETE:
        return _REJECTED.get(states.RejectionReason(reason), "no_further_action") if reason else "no_further_action"
    return _EXTENDED[status]


def gusp_statuses(basic_status: str) -> frozenset[states.ReportStatus]:
    """The GUSP statuses behind `open` or `closed`, for the `status` filter."""
    return states.OPEN if basic_status == OPEN else frozenset(states.ReportStatus) - states.OPEN
