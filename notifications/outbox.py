"""Writing staff alerts into the outbox inside the transaction that causes them, and reading the outbox back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from workflow.config import EmailChannel, FolderChannel
from workflow.errors import InvalidInput, NotFound
from workflow.models import ATTEMPTS, MESSAGES

STATUSES = ("pending", "sending", "sent", "failed", "uncertain")
RETRYABLE = ("failed", "uncertain")
_INSERT = insert(MESSAGES)


def queue_staff_alert(
    app: Any, session: Session, *, complaint: Any, kind: str, headline: str, level: str,
    recipients: list[tuple[str, str | None]], now: datetime,
) -> int:
    """One message per channel and recipient, rendered from the staff_alert template in the default language.

    (name, email) recipients without an email address skip the email channel.
    """
    from notifications.customer import complaint_values
    from notifications.rendering import RenderFailed

    locale = app.config.default_language
    values = complaint_values(app, complaint, _Nobody(), locale) | {"alert": {"headline": headline, "level": level}}
    channels = app.config.alerts.channels
    mail_like = [isinstance(channel, EmailChannel | FolderChannel) for channel in channels]
    # Only the forms some channel sends: a mail needs text and HTML, the log and webhooks the short form.
    forms = ("txt", "html") * any(mail_like) + ("sms",) * (not all(mail_like))
    try:
        rendered = app.renderer.render("staff_alert", locale, values, forms)
        subject, text, html, short, error = rendered.subject, rendered.text, rendered.html, rendered.sms, None
    except RenderFailed as failure:
        subject = f"[Redress] {complaint.number} {headline}"
        text = html = short = ""
        error = str(failure)
    names = ", ".join(name for name, _ in recipients) or "nobody at that level"
    rows = []
    for channel, is_mail in zip(channels, mail_like, strict=True):
        if isinstance(channel, EmailChannel):
            targets = [email for _, email in recipients if email]
        elif channel.type == "webhook":
            targets = [channel.url]
        else:
            targets = [names]
        rows += [
            {"complaint_id": complaint.id, "kind": kind, "audience": "staff", "locale": locale,
             "channel": channel.type, "recipient": target, "subject": subject,
             "body": text if is_mail else short, "body_html": html if is_mail else None,
             "idempotency_key": uuid.uuid4().hex, "status": "failed" if error else "pending", "attempts": 0,
             "next_attempt_at": now, "last_error": error, "created_at": now, "sent_at": None}
            for target in targets
        ]
    if rows:
        session.execute(_INSERT, rows)
    return len(rows)


class _Nobody:
    name = ""


def _message_dict(m: Any) -> dict[str, Any]:
    return {"id": m.id, "kind": m.kind, "audience": m.audience, "locale": m.locale, "channel": m.channel,
            "recipient": m.recipient, "subject": m.subject, "status": m.status, "attempts": m.attempts,
            "last_error": m.last_error, "created_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None, "next_attempt_at": m.next_attempt_at.isoformat()}


def list_messages(
    app: Any, *, status: str | None = None, complaint: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Outbox rows, newest first, for `redress outbox list`."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status '{status}' is not allowed; statuses: {', '.join(STATUSES)}")
    query = select(MESSAGES).order_by(MESSAGES.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(MESSAGES.c.status == status)
    with app.uow(write=False) as uow:
        if complaint is not None:
            from workflow.records import load_complaint

            query = query.where(MESSAGES.c.complaint_id == load_complaint(uow.session, complaint).id)
        return [_message_dict(m) for m in uow.session.execute(query)]


def show_message(app: Any, message_id: int) -> dict[str, Any]:
    """One message with its bodies and every delivery attempt."""
    with app.uow(write=False) as uow:
        message = uow.session.execute(select(MESSAGES).where(MESSAGES.c.id == message_id)).first()
        if message is None:
            raise NotFound(f"no message {message_id}")
        attempts = uow.session.execute(
            select(ATTEMPTS).where(ATTEMPTS.c.message_id == message_id).order_by(ATTEMPTS.c.number)
        )
        return _message_dict(message) | {
            "body": message.body, "body_html": message.body_html, "idempotency_key": message.idempotency_key,
            "attempt_log": [
                {"number": a.number, "started_at": a.started_at.isoformat(),
                 "finished_at": a.finished_at.isoformat() if a.finished_at else None,
                 "outcome": a.outcome, "error": a.error}
                for a in attempts
            ],
        }


def retry_message(app: Any, actor: str | None, message_id: int) -> None:
    """Put a failed or uncertain message back in the queue for another round of attempts (supervisor or above)."""
    from workflow.people import acting_user, require_role

    with app.uow() as uow:
        require_role(acting_user(uow.session, actor), "supervisor", "retrying a message")
        row = uow.session.execute(
            select(MESSAGES.c.status, MESSAGES.c.body, MESSAGES.c.last_error).where(MESSAGES.c.id == message_id)
        ).first()
        if row is None:
            raise NotFound(f"no message {message_id}")
        if row.status not in RETRYABLE:
            raise InvalidInput(f"message {message_id} is {row.status}; only failed or uncertain messages can be "
                               "retried")
        if not row.body:
            raise InvalidInput(f"message {message_id} was never rendered ({row.last_error}); fix the template "
                               "(`redress templates check`) - the next message will use it")
        uow.session.execute(
            update(MESSAGES).where(MESSAGES.c.id == message_id)
            .values(status="pending", attempts=0, next_attempt_at=app.clock.now())
        )
        uow.commit()
