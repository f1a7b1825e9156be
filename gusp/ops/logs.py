"""Structured logs: one JSON object per line, each carrying the id of the request it belongs to.

The request id comes from the proxy's `X-Request-ID` when it is a sane token, or is made here;
it is sent back in the response so that a resident's screenshot can be matched to a log line.
Secrets never reach a line: query strings are dropped from logged paths, and values that look
like tokens or passwords are masked wherever they appear.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("gusp_request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SECRETS = re.compile(
    r"(?i)(jeton|token|api_key|password|mot_de_passe|secret|authorization)([\"']?\s*[=:]\s*[\"']?(?:Bearer\s+)?)([^\s&\"',;]+)"
)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def scrub(text: str) -> str:
    """Mask what follows a secret's name (token=…, "password": "…", Authorization: Bearer …)."""
    return _SECRETS.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if request_id := getattr(record, "request_id", None) or REQUEST_ID.get():
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else scrub(str(value))
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(*, json_lines: bool, level: str = "INFO") -> None:
    """Route GUSP's and uvicorn's loggers to standard error, as JSON lines or as plain text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # replaced by AccessLog, which drops query strings


class AccessLog:
    """Gives each request its id and logs one line per request: method, path without query, status, time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("gusp.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = datetime.now(UTC)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            self.log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra={"request_id": request_id, "method": scope["method"], "path": scope["path"], "status": status,
                       "client": client[0] if client else None,
                       "duration_ms": round((datetime.now(UTC) - started).total_seconds() * 1000, 1)},
            )
            REQUEST_ID.reset(token)
