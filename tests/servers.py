"""Real servers on localhost for delivery tests: well-behaved and hostile SMTP servers and HTTP receivers.

aiosmtpd serves SMTP; http.server serves webhooks. Where a receiver must break
the protocol itself (drop the connection in the middle of DATA, write a
malformed HTTP status line), a raw socket server in a thread does it.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps each message and answers 250, unless told to misbehave.

    - `refusals`: refuse the next N messages with a temporary error;
    - `refuse_chance`: refuse each message with this probability (451 or 554, seeded);
    - `delay_seconds`: keep the message, then wait this long before answering (without blocking other
      connections): a slow server, or with a delay beyond the client's timeout, a 250 that comes too late;
    - `cut_after_store`: keep the next N messages, then drop the connection instead of answering.

    `received` holds what was kept; `seen` counts by Message-ID every message whose whole content arrived,
    kept or refused, so a test can count real attempts.
    """

    def __init__(self, refusals: int = 0, seed: int = 7) -> None:
        self.refusals = refusals
        self.refuse_chance = 0.0
        self.delay_seconds = 0.0
        self.cut_after_store = 0
        self.received: list = []
        self.received_at: list[float] = []  # time.monotonic() of each kept message
        self.seen: Counter[str] = Counter()
        self.peers: set = set()  # the client address of each connection that sent a message
        self._random = random.Random(seed)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.seen[mail["Message-ID"]] += 1
        self.peers.add(session.peer)
        if self.refusals:
            self.refusals -= 1
            return "451 4.3.0 try again later"
        if self.refuse_chance and self._random.random() < self.refuse_chance:
            return self._random.choice(["451 4.3.0 try again later", "554 5.7.1 not today"])
        self.received.append((envelope.rcpt_tos, mail))
        self.received_at.append(time.monotonic())
        if self.cut_after_store:
            self.cut_after_store -= 1
            server.transport.abort()  # the message is kept; the client never hears so
            return "250 OK"
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        return "250 OK"

    def kept(self) -> Counter[str]:
        """How many times each Message-ID was kept."""
        return Counter(mail["Message-ID"] for _, mail in self.received)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


class RawServer:
    """A TCP server in a thread that hands each connection to `serve(connection, number)`; numbers start at 1."""

    def __init__(self, serve: Callable[[socket.socket, int], None], receive_buffer: int | None = None) -> None:
        self.serve = serve
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if receive_buffer:  # accepted connections inherit it: a small window makes a large send block
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection, self.connections), daemon=True).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        with connection:
            try:
                self.serve(connection, number)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def reset(connection: socket.socket) -> None:
    """Close with a TCP reset, as a crashing server does."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class DropMidData:
    """A minimal SMTP server that, on its first `drops` connections, reads part of the content after DATA's
    354 and then resets the connection; later connections keep the message and answer 250."""

    def __init__(self, drops: int = 1) -> None:
        self.drops = drops
        self.received: list[bytes] = []
        self.server = RawServer(self._serve, receive_buffer=4096)
        self.port = self.server.port

    def _serve(self, connection: socket.socket, number: int) -> None:
        reader = connection.makefile("rb")
        connection.sendall(b"220 localhost ready\r\n")
        while line := reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                connection.sendall(b"250 localhost\r\n")
            elif verb == b"DATA":
                connection.sendall(b"354 go ahead\r\n")
                if number <= self.drops:
                    connection.recv(1024)  # some of the content has arrived; the server dies
                    reset(connection)
                    return
                content = []
                while (line := reader.readline()) not in (b".\r\n", b""):
                    content.append(line)
                self.received.append(b"".join(content))
                connection.sendall(b"250 kept\r\n")
            elif verb == b"QUIT":
                connection.sendall(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                connection.sendall(b"250 OK\r\n")


@pytest.fixture
def smtp_dropping_mid_data() -> Iterator[DropMidData]:
    server = DropMidData()
    yield server
    server.server.close()


class Hook(BaseHTTPRequestHandler):
    """A webhook receiver: keeps each POST, after `failures` answers of `failure_status` and, with
    `late_seconds`, after a wait (the POST is kept before the wait, as a slow gateway would)."""

    posts: list = []
    failures = 0
    failure_status = 503
    late_seconds = 0.0
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - http.server's hook name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Hook.lock:
            failing = Hook.failures > 0
            Hook.failures -= failing
            if not failing:
                Hook.posts.append((self.headers["Idempotency-Key"], body))
        if Hook.late_seconds and not failing:
            time.sleep(Hook.late_seconds)
        self.send_response(Hook.failure_status if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.posts, Hook.failures, Hook.failure_status, Hook.late_seconds = [], 0, 503, 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()
    server.server_close()


class GarbledHttp:
    """An HTTP receiver whose first `garbled` answers have a malformed status line; later ones are 200."""

    def __init__(self, garbled: int) -> None:
        self.garbled = garbled
        self.keys: list[str] = []
        self.server = RawServer(self._serve)
        self.url = f"http://127.0.0.1:{self.server.port}/sms"

    def _serve(self, connection: socket.socket, number: int) -> None:
        reader = connection.makefile("rb")
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        reader.read(int(headers.get("content-length", 0)))
        if number <= self.garbled:
            connection.sendall(b"HTTP/1.1 abc\r\n\r\n")
            return
        self.keys.append(headers["idempotency-key"])
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def garbled_http() -> Iterator[GarbledHttp]:
    server = GarbledHttp(garbled=2)
    yield server
    server.server.close()
