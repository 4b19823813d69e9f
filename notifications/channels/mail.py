"""The MIME message an email or a .eml file carries."""

from __future__ import annotations

import functools
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from mimetypes import guess_type
from typing import Any


class _ReusedHeaderClasses(HeaderRegistry):
    """The standard registry builds a new header class for every header of every message; those classes are
    garbage only the slowest GC generation collects, so a long-running sender grew by megabytes a minute.
    One class per header name is enough."""

    @functools.cache  # noqa: B019 - one registry for the process; the cache is bounded by the header names used
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)  # type: ignore[no-any-return]


_POLICY = policy.default.clone(header_factory=_ReusedHeaderClasses())
# Every message Redress sends is <idempotency key@MESSAGE_ID_DOMAIN>: a reply naming one threads to its complaint.
MESSAGE_ID_DOMAIN = "redress"


def sent_key(message_id: str) -> str | None:
    """The outbox key of a Message-ID Redress wrote (with or without <>), else None."""
    local, _, domain = message_id.strip().strip("<>").partition("@")
    return local if domain == MESSAGE_ID_DOMAIN and local else None


def build_email(sender: str, message: Any) -> EmailMessage:
    """A MIME message: plain text, plus an HTML alternative when there is one; Message-ID is the idempotency key."""
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    # The idempotency key travels as the Message-ID, so a receiving system can drop a repeat.
    mail["Message-ID"] = f"<{message.idempotency_key}@{MESSAGE_ID_DOMAIN}>"
    # RFC 3834: machine-written, so vacation responders and other robots do not answer it (no mail loops).
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(message.body)
    if getattr(message, "body_html", None):
        mail.add_alternative(message.body_html, subtype="html")
        # Left to itself the generator compiles a new regex for every random boundary (a third of a
        # millisecond a message). The message's random key is in no text written before the message existed.
        mail.set_boundary(f"=_redress_{message.idempotency_key}")
    if getattr(message, "attachment", None) is not None:
        declared = guess_type(message.attachment_name or "")[0] or "application/octet-stream"
        maintype, _, subtype = declared.partition("/")
        mail.add_attachment(bytes(message.attachment), maintype=maintype, subtype=subtype,
                            filename=message.attachment_name or "attachment")
        mail.set_boundary(f"=_redress_mixed_{message.idempotency_key[-24:]}")
    if getattr(message, "locale", None):  # after the bodies: setting content clears Content-* headers
        mail["Content-Language"] = message.locale
    return mail
