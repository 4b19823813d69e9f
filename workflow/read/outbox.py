"""The outbox as staff read it: messages newest first, and one message with every delivery attempt."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from workflow.adapters.models import ATTEMPTS, MESSAGES
from workflow.adapters.records import load_complaint
from workflow.domain.errors import InvalidInput, NotFound, checked_limit
from workflow.domain.vocabulary import MESSAGE_STATUSES


def message_dict(m: Any) -> dict[str, Any]:
    return {"id": m.id, "kind": m.kind, "audience": m.audience, "locale": m.locale, "channel": m.channel,
            "recipient": m.recipient, "subject": m.subject, "status": m.status, "attempts": m.attempts,
            "last_error": m.last_error, "created_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None, "next_attempt_at": m.next_attempt_at.isoformat()}


def list_messages(
    app: Any, *, status: str | None = None, complaint: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Outbox rows, newest first, for `redress outbox list`."""
    if status is not None and status not in MESSAGE_STATUSES:
        raise InvalidInput(f"status '{status}' is not allowed; statuses: {', '.join(MESSAGE_STATUSES)}")
    query = select(MESSAGES).order_by(MESSAGES.c.id.desc()).limit(checked_limit(limit))
    if status is not None:
        query = query.where(MESSAGES.c.status == status)
    with app.uow(write=False) as uow:
        if complaint is not None:
            query = query.where(MESSAGES.c.complaint_id == load_complaint(uow.session, complaint).id)
        return [message_dict(m) for m in uow.session.execute(query)]


def show_message(app: Any, message_id: int) -> dict[str, Any]:
    """One message with its bodies and every delivery attempt."""
    with app.uow(write=False) as uow:
        message = uow.session.execute(select(MESSAGES).where(MESSAGES.c.id == message_id)).first()
        if message is None:
            raise NotFound(f"no message {message_id}")
        attempts = uow.session.execute(
            select(ATTEMPTS).where(ATTEMPTS.c.message_id == message_id).order_by(ATTEMPTS.c.number)
        )
        return message_dict(message) | {
            "body": message.body, "body_html": message.body_html, "idempotency_key": message.idempotency_key,
            "attempt_log": [
                {"number": a.number, "started_at": a.started_at.isoformat(),
                 "finished_at": a.finished_at.isoformat() if a.finished_at else None,
                 "outcome": a.outcome, "error": a.error}
                for a in attempts
            ],
        }
