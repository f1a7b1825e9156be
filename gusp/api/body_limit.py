"""Refuse request bodies over a limit before they are read, with our JSON error."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gusp import errors


def _too_large() -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge("requete_trop_lourde", "L'envoi est trop volumineux : réduisez le nombre ou le poids des photos.")


class BodyLimit:
    """A declared Content-Length over the limit is answered at once; a body that grows past
    it while streaming stops the read (the form parser turns that into the same error)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _too_large()
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(send: Send) -> None:
        error = _too_large()
        body = json.dumps(error.body(), ensure_ascii=False).encode()
        await send({
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        })
        await send({"type": "http.response.body", "body": body})
