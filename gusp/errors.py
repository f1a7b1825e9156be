"""Domain errors: each carries its HTTP status, a stable code and a French message.

Services raise these; `gusp.api.main` maps them to `{"code", "message"}` JSON bodies.
"""

from __future__ import annotations


class GuspError(Exception):
    """Base of every error that reaches a client as a 4xx, or as a 5xx worth retrying (`ServiceUnavailable`)."""

    status: int = 400

    def __init__(self, code: str, message: str, *, field: str | None = None, **details: object):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.details)
        return body

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the answer."""
        return {}


class BadRequest(GuspError):
    status = 400


class Unauthenticated(GuspError):
    status = 401


class Forbidden(GuspError):
    status = 403


class NotFound(GuspError):
    status = 404


class Conflict(GuspError):
    status = 409


class PayloadTooLarge(GuspError):
    status = 413


class UnsupportedMediaType(GuspError):
    status = 415


class Unprocessable(GuspError):
    status = 422


class TooManyRequests(GuspError):
    """Give `retry_after=<seconds>`: it becomes the `Retry-After` header (60 s when not given)."""

    status = 429

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.details.get("retry_after", 60))))}


class ServiceUnavailable(GuspError):
    """Something the service depends on failed, not the request: send it again after `Retry-After` seconds."""

    status = 503

    def __init__(self, code: str, message: str, *, retry_after: int = 60, **details: object):
        super().__init__(code, message, **details)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InsufficientStorage(ServiceUnavailable):
    status = 507


class InvalidFields(Unprocessable):
    """Several invalid fields at once, so a form can show every message beside its field."""

    def __init__(self, errors: list[GuspError]):
        first = errors[0]
        super().__init__(first.code, first.message, field=first.field)
        self.errors = errors

    def body(self) -> dict[str, object]:
        body = super().body()
        body["errors"] = [e.body() for e in self.errors]
        return body
