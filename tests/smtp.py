"""A real SMTP server for tests (aiosmtpd on a free 127.0.0.1 port) that keeps what it accepted.

    # the fixture is registered by tests/conftest.py (pytest_plugins)
    def test_x(smtp_server, settings):
        mail = smtp.mail_settings(settings, smtp_server)

A message counts as received only when the server answered 250: if the client goes away while
the server holds its DATA (`hold`), nothing is kept, as with a real relay.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from gusp.config import Settings


class Recorder:
    """The server's handler: records accepted messages; knobs to delay, hold, refuse."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TO)
        self.data_started = threading.Event()  # set when a DATA arrives, before its answer
        self.hold = threading.Event()  # while set, DATA is not answered
        self.delay_s = 0.0
        self.data_reply: str | None = None  # e.g. "554 5.6.0 refusé": DATA refused with this answer
        self.refused_recipients: set[str] = set()
        self.in_data = 0  # DATA commands being handled now (a held one until answered or cancelled)
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session: Session, envelope: Envelope, address: str, options) -> str:
        if address in self.refused_recipients:
            return "550 5.1.1 Utilisateur inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        self.in_data += 1
        try:
            self.data_started.set()
            while self.hold.is_set():  # cancelled by aiosmtpd if the client goes away meanwhile
                await asyncio.sleep(0.02)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            return self._accept(envelope)
        finally:
            self.in_data -= 1

    def _accept(self, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        raw = (envelope.original_content or envelope.content).replace(b"\r\n", b"\n")  # wire CRLF → Python's \n
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    def __init__(self, host: str, port: int, handler: Recorder):
        self.host = host
        self.port = port
        self.handler = handler

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


def free_port() -> int:
    """A port nobody listens on now (nothing will, unless a test starts a server there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_smtp_server(port: int | None = None, **controller_options: object) -> Iterator[SmtpServer]:
    """Start a server (on `port`, or a free one) for the block; stopped after."""
    handler = Recorder()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **controller_options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        handler.hold.clear()
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def mail_settings(
    settings: Settings, server: SmtpServer | None = None, *, port: int | None = None, **extra
) -> Settings:
    """Settings that send to the test server (or to `port`, where nothing may listen)."""
    update: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port if server else port,
        "smtp_user": "",
        "smtp_password": "",
        "smtp_starttls": False,
        "smtp_ssl": False,
        "smtp_timeout_s": 5.0,
        "mail_from": "GUSP <gusp@ville.test>",
        "public_url": "https://gusp.ville.test",
        "outbox_max_attempts": 8,
    }
    update.update(extra)
    return settings.model_copy(update=update)
