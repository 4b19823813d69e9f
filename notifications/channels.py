"""Delivery channels: the log, SMTP email, an HTTP webhook and a folder of .eml files.

A Deliverer lives for one delivery run of the sender and keeps one SMTP
connection open per server across it, so a drain of thousands of mails costs
one handshake. A send returns (delivered) or raises one of two errors and
nothing else: DeliveryFailed (the channel did not take the message; sending
again is safe) or DeliveryUncertain (an email was handed to the SMTP server
but its answer never came; it may have arrived, so it must not be resent on
its own).
"""

from __future__ import annotations

import functools
import json
import os
import re
import smtplib
import sys
import urllib.request
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from workflow.config import Config, EmailChannel, FolderChannel, WebhookChannel
from workflow.domain.errors import describe_error


class DeliveryFailed(Exception):
    """The channel did not take the message; the sender retries later."""


class DeliveryUncertain(Exception):
    """The SMTP server had the whole message but no final answer came back: it may or may not have kept it."""


class _ReusedHeaderClasses(HeaderRegistry):
    """The standard registry builds a new header class for every header of every message; those classes are
    garbage only the slowest GC generation collects, so a long-running sender grew by megabytes a minute.
    One class per header name is enough."""

    @functools.cache  # noqa: B019 - one registry for the process; the cache is bounded by the header names used
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)  # type: ignore[no-any-return]


_POLICY = policy.default.clone(header_factory=_ReusedHeaderClasses())


def build_email(sender: str, message: Any) -> EmailMessage:
    """A MIME message: plain text, plus an HTML alternative when there is one; Message-ID is the idempotency key."""
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    # The idempotency key travels as the Message-ID, so a receiving system can drop a repeat.
    mail["Message-ID"] = f"<{message.idempotency_key}@redress>"
    mail.set_content(message.body)
    if getattr(message, "body_html", None):
        mail.add_alternative(message.body_html, subtype="html")
        # Left to itself the generator compiles a new regex for every random boundary (a third of a
        # millisecond a message). The message's random key is in no text written before the message existed.
        mail.set_boundary(f"=_redress_{message.idempotency_key}")
    if getattr(message, "locale", None):  # after the bodies: setting content clears Content-* headers
        mail["Content-Language"] = message.locale
    return mail


class _Session(smtplib.SMTP):
    """An SMTP client that knows whether the whole message reached the server, and what the final reply was.

    smtplib's `data()` sends the content and reads the reply in one call; an
    error from it does not say which of the two failed. Here `handed_over`
    turns true only once the content and its end-of-data mark have all been
    written to the socket: before that the server cannot have accepted the
    message (it needs the final CRLF.CRLF), after it the server may have kept it.
    """

    handed_over = False
    final_reply: tuple[int, bytes] | None = None
    data_started = False

    def forget_last_send(self) -> None:
        self.handed_over, self.final_reply, self.data_started = False, None, False

    def data(self, msg: bytes) -> tuple[int, bytes]:  # type: ignore[override]
        self.forget_last_send()
        self.data_started = True
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        payload = re.sub(rb"(?m)^\.", b"..", msg)  # dot-stuffing, as smtplib does
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        # One sendall: if it raises, its last byte (the end-of-data mark) never reached the operating system.
        self.send(payload + b".\r\n")
        self.handed_over = True
        self.final_reply = self.getreply()
        return self.final_reply


class _SSLSession(_Session, smtplib.SMTP_SSL):
    """The same, over implicit TLS."""


class Deliverer:
    """Sends messages through their channels for one delivery run of the sender."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._smtp: dict[tuple[str, int], _Session] = {}

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for connection in self._smtp.values():
            try:
                connection.quit()
            except Exception:  # noqa: BLE001 - a server that cannot say goodbye changes nothing delivered
                connection.close()
        self._smtp.clear()

    def send(self, channel: Any, message: Any) -> None:
        """Deliver one outbox row through its channel; raise DeliveryFailed or DeliveryUncertain, nothing else."""
        if not message.recipient:  # an alert that reached nobody, queued again: it still reaches nobody
            raise DeliveryFailed("the message names no recipient")
        if isinstance(channel, EmailChannel):
            self._send_email(channel, message)
            return
        try:
            if isinstance(channel, WebhookChannel):
                _post_webhook(channel, message)
            elif isinstance(channel, FolderChannel):
                _write_file(self.config, channel, message)
            else:
                detail = f"\n  {message.body}" if message.body and message.body != message.subject else ""
                sys.stdout.write(f"ALERT to {message.recipient}: {message.subject}{detail}\n")
                sys.stdout.flush()
        except DeliveryFailed:
            raise
        except Exception as error:  # noqa: BLE001 - whatever a receiver does to us is one failed attempt
            raise DeliveryFailed(describe_error(error)) from None

    def _connection(self, channel: EmailChannel) -> tuple[_Session, bool]:
        """The open connection to the channel's server and whether it was used before, or a new one."""
        key = (channel.host, channel.port)
        if key in self._smtp:
            return self._smtp[key], True
        session_class = _SSLSession if channel.ssl else _Session
        connection: _Session = session_class(channel.host, channel.port, timeout=channel.timeout_seconds)
        try:
            if channel.starttls and not channel.ssl:
                connection.starttls()
            if channel.username:
                connection.login(channel.username, os.environ.get(channel.password_env or "", ""))
        except BaseException:
            connection.close()
            raise
        self._smtp[key] = connection
        return connection, False

    def _drop(self, channel: EmailChannel) -> None:
        connection = self._smtp.pop((channel.host, channel.port), None)
        if connection is not None:
            connection.close()

    def _send_email(self, channel: EmailChannel, message: Any) -> None:
        try:
            mail = build_email(channel.sender, message)
        except Exception as error:  # noqa: BLE001 - a message that cannot be built is a failed attempt
            raise DeliveryFailed(describe_error(error)) from None
        for may_reconnect in (True, False):
            connection = None
            try:
                connection, reused = self._connection(channel)
                connection.forget_last_send()
                connection.send_message(mail)
                return
            except Exception as error:  # noqa: BLE001 - every failure is classified below, none escapes
                if connection is None:
                    raise DeliveryFailed(describe_error(error)) from None
                if connection.handed_over:
                    self._after_handover(channel, connection, error)
                    return
                # A server that closed an idle connection we reused costs a reconnect, not an attempt.
                stale = reused and not connection.data_started and isinstance(
                    error, smtplib.SMTPServerDisconnected | ConnectionError)
                if stale or connection.sock is None:
                    self._drop(channel)
                if not (stale and may_reconnect):
                    raise DeliveryFailed(describe_error(error)) from None

    def _after_handover(self, channel: EmailChannel, connection: _Session, error: Exception) -> None:
        """The server had the whole message: a definite final reply decides, anything else leaves it uncertain."""
        reply = connection.final_reply
        code = reply[0] if reply else None
        if code is not None and 200 <= code < 300:
            return  # accepted, with a code smtplib does not expect
        if code is not None and 400 <= code < 600:
            if connection.sock is None:  # smtplib closes it after a 421
                self._drop(channel)
            raise DeliveryFailed(describe_error(error)) from None
        self._drop(channel)  # after an unanswered or garbled final reply, the session is in no known state
        raise DeliveryUncertain(describe_error(error)) from None


def _post_webhook(channel: WebhookChannel, message: Any) -> None:
    payload = json.dumps(
        {"kind": message.kind, "audience": getattr(message, "audience", "staff"), "to": message.recipient,
         "subject": message.subject, "text": message.body, "complaint_id": message.complaint_id,
         "idempotency_key": message.idempotency_key},
        ensure_ascii=False,
    ).encode("utf-8")
    url = channel.url
    request = urllib.request.Request(
        url, data=payload, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.idempotency_key},
    )
    with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:  # noqa: S310 - configured URL
        if response.status >= 300:
            raise DeliveryFailed(f"webhook answered HTTP {response.status}")


def eml_name(message: Any) -> str:
    """The same message always gets the same file name, so writing it twice leaves one file."""
    return f"{message.created_at:%Y%m%d-%H%M%S}-{message.kind}-{message.idempotency_key[:12]}.eml"


def _write_file(config: Config, channel: FolderChannel, message: Any) -> None:
    folder = config.resolve_path(channel.path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / eml_name(message)
    partial = Path(f"{target}.part")
    partial.write_bytes(bytes(build_email(channel.sender, message)))
    os.replace(partial, target)
