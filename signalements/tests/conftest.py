"""Fixtures of the reports' tests: the demo services, types and reports, and a real SMTP server
(aiosmtpd, in this process) that Django's SMTP backend sends to."""
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """What the local SMTP server received: one parsed message per recipient list."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"to": list(envelope.rcpt_tos), "subject": message["subject"],
                              "body": message.get_body(("plain",)).get_content()})
        return "250 OK"

    def to(self, address):
        return [m for m in self.messages if address in m["to"]]

    def clear(self):
        self.messages.clear()


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port of this machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server, settings):
    """Django's SMTP backend pointed at the local server; the inbox emptied for the test."""
    inbox, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    inbox.clear()
    return inbox


@pytest.fixture
def signalements_demo(db):
    from signalements.demo import load_signalements_demo

    load_signalements_demo()
