"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the tests, keeping what it accepted."""

from __future__ import annotations

import contextlib
import dataclasses
import email
import email.policy
import socket

from aiosmtpd.controller import Controller


@dataclasses.dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class Inbox:
    """An aiosmtpd handler keeping what it accepted; `refuse` makes it answer DATA with that reply instead."""

    def __init__(self):
        self.received: list[Received] = []
        self.refuse: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.rcpt_tos == [address]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server(inbox: Inbox | None = None, **options):
    """A real SMTP server on 127.0.0.1 (aiosmtpd) for the block: (controller, the handler keeping what it got)."""
    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()
