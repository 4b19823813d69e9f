"""Delivery channels: the log, SMTP email, an HTTP webhook and a folder of .eml files.

A Deliverer lives for one pass of the sender and keeps one SMTP connection
open per server across the pass, so a batch of mail costs one handshake.
Every send either returns (delivered) or raises DeliveryFailed.
"""

from __future__ import annotations

import functools
import json
import os
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


class DeliveryFailed(Exception):
    """The channel could not deliver; the sender retries later."""


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
    if getattr(message, "locale", None):  # after the bodies: setting content clears Content-* headers
        mail["Content-Language"] = message.locale
    return mail


class Deliverer:
    """Sends messages through their channels for one pass of the sender."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._smtp: dict[tuple[str, int], smtplib.SMTP] = {}

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for connection in self._smtp.values():
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self._smtp.clear()

    def send(self, channel: Any, message: Any) -> None:
        """Deliver one outbox row through its channel."""
        try:
            if isinstance(channel, EmailChannel):
                self._send_email(channel, message)
            elif isinstance(channel, WebhookChannel):
                _post_webhook(channel, message)
            elif isinstance(channel, FolderChannel):
                _write_file(self.config, channel, message)
            else:
                detail = f"\n  {message.body}" if message.body and message.body != message.subject else ""
                sys.stdout.write(f"ALERT to {message.recipient}: {message.subject}{detail}\n")
                sys.stdout.flush()
        except DeliveryFailed:
            raise
        except (OSError, smtplib.SMTPException, ValueError) as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from None

    def _connection(self, channel: EmailChannel) -> smtplib.SMTP:
        key = (channel.host, channel.port)
        if key not in self._smtp:
            smtp_class = smtplib.SMTP_SSL if channel.ssl else smtplib.SMTP
            connection = smtp_class(channel.host, channel.port, timeout=channel.timeout_seconds)
            if channel.starttls and not channel.ssl:
                connection.starttls()
            if channel.username:
                connection.login(channel.username, os.environ.get(channel.password_env or "", ""))
            self._smtp[key] = connection
        return self._smtp[key]

    def _send_email(self, channel: EmailChannel, message: Any) -> None:
        connection = self._connection(channel)
        try:
            connection.send_message(build_email(channel.sender, message))
        except (OSError, smtplib.SMTPServerDisconnected):
            # The connection is no good any more; the next message opens a fresh one.
            self._smtp.pop((channel.host, channel.port), None)
            raise
        except smtplib.SMTPResponseException:
            # The server refused this message but the session is fine; reset it for the next one.
            try:
                connection.rset()
            except (OSError, smtplib.SMTPException):
                self._smtp.pop((channel.host, channel.port), None)
            raise


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
