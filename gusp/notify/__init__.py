"""The outbox side of notifications: a message is a row written with the change that causes it.

Every enqueuer renders its French template (plain text and HTML) and adds one `outbox` row per
recipient in the caller's transaction, flushed, never committed: if the change is rolled back,
so is the message, and a committed change always has its message. `gusp.worker` sends the rows.

Residents are written to only when they left an e-mail *and* consented; partners get what they
need to act (internal data included) but never a resident's contact details.

The package, in the order a message is made: `rendering` (templates, links, French dates),
`queue` (the outbox row), then the mails by audience: `residents`, `staff`, `passwords`.
"""

from gusp.notify.passwords import RESET_LINK_PLACEHOLDER, final_bodies, password_reset, reset_link
from gusp.notify.queue import MailKind, enqueue
from gusp.notify.rendering import follow_url, staff_url
from gusp.notify.residents import (
    REJECTION_LABELS, STATUS_VERBS, receipt, report_acknowledged, report_closed, report_commented, report_received,
)
from gusp.notify.staff import DIGEST_MAX_ROWS, overdue_digest, report_assigned, staff_notice

__all__ = [
    "DIGEST_MAX_ROWS", "REJECTION_LABELS", "RESET_LINK_PLACEHOLDER", "STATUS_VERBS", "MailKind", "enqueue",
    "final_bodies", "follow_url", "overdue_digest", "password_reset", "receipt", "report_acknowledged",
    "report_assigned", "report_closed", "report_commented", "report_received", "reset_link", "staff_notice",
    "staff_url",
]
