"""Delivery channels: the log, SMTP email and an HTTP webhook. Each sends one message or raises."""

from __future__ import annotations

import json
import os
import smtplib
import sys
import urllib.request
from email.message import EmailMessage
from typing import Any

from workflow.config import EmailChannel, WebhookChannel


class DeliveryFailed(Exception):
    """The channel could not deliver; the sender retries later."""


def send(channel: Any, message: Any) -> None:
    """Deliver one outbox row through its channel."""
    try:
        if isinstance(channel, EmailChannel):
            _send_email(channel, message)
        elif isinstance(channel, WebhookChannel):
            _post_webhook(channel, message)
        else:
            sys.stdout.write(f"ALERT to {message.recipient}: {message.subject}\n  {message.body}\n")
            sys.stdout.flush()
    except DeliveryFailed:
        raise
    except (OSError, smtplib.SMTPException, ValueError) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from None


def _send_email(channel: EmailChannel, message: Any) -> None:
    mail = EmailMessage()
    mail["From"] = channel.sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    # The idempotency key travels as the Message-ID, so a receiving system can drop a repeat.
    mail["Message-ID"] = f"<{message.idempotency_key}@redress>"
    mail.set_content(message.body)
    smtp_class = smtplib.SMTP_SSL if channel.ssl else smtplib.SMTP
    with smtp_class(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
        if channel.starttls and not channel.ssl:
            smtp.starttls()
        if channel.username:
            smtp.login(channel.username, os.environ.get(channel.password_env or "", ""))
        smtp.send_message(mail)


def _post_webhook(channel: WebhookChannel, message: Any) -> None:
    payload = json.dumps(
        {"kind": message.kind, "subject": message.subject, "text": message.body,
         "complaint_id": message.complaint_id, "idempotency_key": message.idempotency_key},
        ensure_ascii=False,
    ).encode("utf-8")
    request = urllib.request.Request(
        message.recipient, data=payload, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.idempotency_key},
    )
    with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:  # noqa: S310 - configured URL
        if response.status >= 300:
            raise DeliveryFailed(f"webhook answered HTTP {response.status}")
