"""Writing messages into the outbox, inside the transaction of the change that causes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from workflow.config import Config, EmailChannel
from workflow.errors import InvalidInput, NotFound
from workflow.models import MESSAGES

STATUSES = ("pending", "sent", "failed")
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


def list_messages(app: Any, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Outbox rows, newest first, for `redress outbox list`."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status '{status}' is not allowed; statuses: {', '.join(STATUSES)}")
    query = select(MESSAGES).order_by(MESSAGES.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(MESSAGES.c.status == status)
    with app.uow(write=False) as uow:
        return [
            {"id": m.id, "kind": m.kind, "channel": m.channel, "recipient": m.recipient, "subject": m.subject,
             "status": m.status, "attempts": m.attempts, "last_error": m.last_error,
             "created_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
             "next_attempt_at": m.next_attempt_at.isoformat()}
            for m in uow.session.execute(query)
        ]


def retry_message(app: Any, actor: str | None, message_id: int) -> None:
    """Put a failed message back in the queue for another round of attempts (supervisor or above)."""
    from workflow.people import acting_user, require_role

    with app.uow() as uow:
        require_role(acting_user(uow.session, actor), "supervisor", "retrying a failed message")
        row = uow.session.execute(select(MESSAGES.c.status).where(MESSAGES.c.id == message_id)).first()
        if row is None:
            raise NotFound(f"no message {message_id}")
        if row.status != "failed":
            raise InvalidInput(f"message {message_id} is {row.status}; only failed messages can be retried")
        uow.session.execute(
            update(MESSAGES).where(MESSAGES.c.id == message_id)
            .values(status="pending", attempts=0, next_attempt_at=app.clock.now())
        )
        uow.commit()
