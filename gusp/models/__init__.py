"""Tables, one module per part of the data flow; every model is importable from here."""

from gusp.models import diagnostics, open311, ops, stats, throttle  # noqa: F401  (their tables)
from gusp.models.accounts import ApiToken, LoginFailure, PasswordReset, User, UserQuartier, UserSession
from gusp.models.outbox import OutboxMessage
from gusp.models.partners import ManagementZone, Partner, RoutingRule
from gusp.models.reports import (
    Category,
    Quartier,
    Report,
    ReportEvent,
    ReporterContact,
    ReportPhoto,
    ServiceArea,
)

__all__ = [
    "ApiToken",
    "Category",
    "LoginFailure",
    "ManagementZone",
    "OutboxMessage",
    "Partner",
    "PasswordReset",
    "Quartier",
    "Report",
    "ReportEvent",
    "ReportPhoto",
    "ReporterContact",
    "RoutingRule",
    "ServiceArea",
    "User",
    "UserQuartier",
    "UserSession",
]
