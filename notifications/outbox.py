"""Writing messages into the outbox, inside the transaction of the change that causes them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from workflow.config import Config, EmailChannel
from workflow.models import MESSAGES

_INSERT = insert(MESSAGES)


def queue_staff_alert(
    config: Config, session: Session, *, complaint_id: int, kind: str, subject: str, body: str,
    recipients: list[tuple[str, str | None]], now: datetime,
) -> int:
    """One message per channel and recipient; (name, email) recipients without email skip the email channel."""
    rows = []
    names = ", ".join(name for name, _ in recipients) or "nobody at that level"
    for channel in config.alerts.channels:
        if isinstance(channel, EmailChannel):
            targets = [email for _, email in recipients if email]
        elif channel.type == "webhook":
            targets = [channel.url]
        else:
            targets = [names]
        rows += [
            {"complaint_id": complaint_id, "kind": kind, "channel": channel.type, "recipient": target,
             "subject": subject, "body": body, "idempotency_key": uuid.uuid4().hex, "status": "pending",
             "attempts": 0, "next_attempt_at": now, "last_error": None, "created_at": now, "sent_at": None}
            for target in targets
        ]
    if rows:
        session.execute(_INSERT, rows)
    return len(rows)
