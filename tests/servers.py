"""Real servers on localhost for delivery tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that refuses the first `refusals` messages with a temporary error.

    With `stall_seconds` it keeps each message and then waits before answering,
    so a test can kill the sender after the server has the message but before
    the sender hears back.
    """

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.stall_seconds = 0.0
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refusals:
            self.refusals -= 1
            return "451 4.3.0 try again later"
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        if self.stall_seconds:
            time.sleep(self.stall_seconds)
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, controller.port
    controller.stop()


class Hook(BaseHTTPRequestHandler):
    posts: list = []
    failures = 0

    def do_POST(self):  # noqa: N802 - http.server's hook name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Hook.failures:
            Hook.failures -= 1
            self.send_response(503)
        else:
            Hook.posts.append((self.headers["Idempotency-Key"], body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.posts, Hook.failures = [], 0
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


