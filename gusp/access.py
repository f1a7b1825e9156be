"""Who sees and does what, by role: one place for the rules the whole API applies.

- coordinateur, admin: every report, the reporter's contact details, every action;
- partenaire: the reports handed to its organisation (assigned to it); takes and resolves them;
- groupe: the reports of its quartiers: reads them and comments;
- agent: the reports he made himself.
Whoever sees a report may comment on it.
Nobody but coordinators and admins sees a reporter's contact details.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from gusp import errors, states
from gusp.models import Report, User, UserQuartier

STAFF_ALL = frozenset({states.Role.COORDINATEUR, states.Role.ADMIN})
# What a partner may do with a report assigned to it.
PARTNER_STATUSES = frozenset({states.ReportStatus.EN_COURS, states.ReportStatus.RESOLU})


def role(user: User) -> states.Role:
    return states.Role(user.role)


def visible_reports(user: User, query: Select | None = None) -> Select:
    """The report query narrowed to what this user may see."""
    query = query if query is not None else select(Report)
    match role(user):
        case states.Role.COORDINATEUR | states.Role.ADMIN:
            return query
        case states.Role.PARTENAIRE:
            return query.where(Report.partner_id == user.partner_id, Report.assigned_at.is_not(None))
        case states.Role.GROUPE:
            mine = select(UserQuartier.quartier_id).where(UserQuartier.user_id == user.id)
            return query.where(Report.quartier_id.in_(mine))
        case states.Role.AGENT:
            return query.where(Report.created_by_user_id == user.id)
    return query.where(false())


def can_see(session: Session, user: User, report: Report) -> bool:
    query = visible_reports(user, select(Report.id).where(Report.id == report.id))
    return session.scalar(query) is not None


def sees_contact(user: User) -> bool:
    return role(user) in STAFF_ALL


def sees_originals(user: User) -> bool:
    """Unblurred photos (faces, plates): coordinators and admins only."""
    return role(user) in STAFF_ALL


def require_triage(user: User) -> None:
    """Qualify, assign, merge, change category or priority: the coordinators' work."""
    if role(user) not in STAFF_ALL:
        raise errors.Forbidden("interdit", "Seuls les coordinateurs GUSP peuvent faire cela.")


def require_status_change(user: User, to: states.ReportStatus) -> None:
    if role(user) in STAFF_ALL:
        return
    if role(user) is states.Role.PARTENAIRE and to in PARTNER_STATUSES:
        return
    raise errors.Forbidden("interdit", "Vous ne pouvez pas donner ce statut à ce signalement.")
