"""Secrets never reach the access log: reset-link tokens in a query string are masked.

Reset links carry their token in the URL fragment, which browsers never send; an old mail's
`?jeton=…` (or a hand-made URL) would still be logged by uvicorn in full without this filter.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(r"(?i)([?&](?:jeton|token|api_key)=)[^&#\s]*")
MASK = "[masqué]"


def scrub(text: str) -> str:
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + MASK, text)


class ScrubSecrets(logging.Filter):
    """For `uvicorn.access`, whose record args are (client, method, path with query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        return True


def install(logger_name: str = "uvicorn.access") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, ScrubSecrets) for f in logger.filters):
        logger.addFilter(ScrubSecrets())
