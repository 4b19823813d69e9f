"""Writing staff alerts into the outbox inside the transaction that causes them; reading it back; retrying."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from workflow.adapters.models import ATTEMPTS, COMPLAINTS, MESSAGES
from workflow.domain.clock import parse_instant
from workflow.domain.errors import ConfigError, InvalidInput, NotFound, checked_limit
from workflow.domain.permissions import require

if TYPE_CHECKING:
    from workflow.services.alert_recipients import Recipients

STATUSES = ("pending", "sending", "sent", "failed", "uncertain", "withdrawn")
RETRYABLE = ("failed", "uncertain")
_INSERT = insert(MESSAGES)


def queue_staff_alert(
    app: Any, session: Session, *, complaint: Any, kind: str, headline: str, level: str,
    recipients: Recipients, now: datetime,
) -> int:
    """One message per channel and recipient, rendered from the staff_alert template in the default language.

    An alert a channel can take to nobody (no recipient at all, or no email address for the email channel) is
    written `failed` with the reason, never `sent`: the outbox shows that nobody was told.
    """
    from notifications.channels import channel_for
    from notifications.customer import complaint_values
    from notifications.rendering import RenderFailed

    locale = app.config.default_language
    values = complaint_values(app, complaint, _Nobody(), locale) | {"alert": {"headline": headline, "level": level}}
    channels = app.config.alerts.channels
    channel_kinds = [channel_for(channel) for channel in channels]
    mail_like = [channel_kind.takes_mail for channel_kind in channel_kinds]
    # Only the forms some channel sends: a mail needs text and HTML, the log and webhooks the short form.
    forms = ("txt", "html") * any(mail_like) + ("sms",) * (not all(mail_like))
    try:
        rendered = app.renderer.render("staff_alert", locale, values, forms)
        subject, text, html, short, error = rendered.subject, rendered.text, rendered.html, rendered.sms, None
    except RenderFailed as failure:
        subject = f"[Redress] {complaint.number} {headline}"
        text = html = short = ""
        error = str(failure)
    rows = []
    for channel, channel_kind, is_mail in zip(channels, channel_kinds, mail_like, strict=True):
        unreached = recipients.nobody_because
        if unreached is not None:
            targets = [""]
        else:
            targets, unreached = channel_kind.addressees(channel, recipients)
        problem = error or unreached
        rows += [
            {"complaint_id": complaint.id, "kind": kind, "audience": "staff", "locale": locale,
             "channel": channel.type, "recipient": target, "subject": subject,
             "body": text if is_mail else short, "body_html": html if is_mail else None,
             "idempotency_key": uuid.uuid4().hex, "status": "failed" if problem else "pending", "attempts": 0,
             "next_attempt_at": now, "last_error": problem, "created_at": now, "sent_at": None}
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
    query = select(MESSAGES).order_by(MESSAGES.c.id.desc()).limit(checked_limit(limit))
    if status is not None:
        query = query.where(MESSAGES.c.status == status)
    with app.uow(write=False) as uow:
        if complaint is not None:
            from workflow.services.records import load_complaint

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


@dataclass(frozen=True)
class RetryFilter:
    """Which failed or uncertain messages to queue again: one id, or any of status, complaint and creation time."""

    message_id: int | None = None
    status: str | None = None
    complaint: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class RetryReport:
    queued: int
    never_rendered: int  # matched but without a body: fixing the template is the way, not a retry
    complaints: int


def retry_message(app: Any, actor: str | None, message_id: int) -> RetryReport:
    """Put one failed or uncertain message back in the queue (supervisor or above)."""
    return retry_messages(app, actor, RetryFilter(message_id=message_id))


def retry_messages(app: Any, actor: str | None, which: RetryFilter) -> RetryReport:
    """Queue failed or uncertain messages again (supervisor or above), noting it on each complaint's audit trail.

    One transaction: every message matched is queued and every complaint is told, or nothing is.
    """
    from workflow.services.people import acting_user
    from workflow.services.records import change_complaint, load_complaint

    query = _retry_query(which)
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        require(user, "retry_messages")
        if which.complaint is not None:
            query = query.where(MESSAGES.c.complaint_id == load_complaint(uow.session, which.complaint).id)
        rows = uow.session.execute(query.with_for_update()).all()
        if which.message_id is not None:
            _check_one(which.message_id, rows)
        ready = [row for row in rows if row.body]
        now = app.clock.now()
        for chunk in range(0, len(ready), 500):
            uow.session.execute(
                update(MESSAGES).where(MESSAGES.c.id.in_([row.id for row in ready[chunk:chunk + 500]]))
                .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None)
            )
        per_complaint: dict[int, list[int]] = {}
        for row in ready:
            if row.complaint_id is not None:
                per_complaint.setdefault(row.complaint_id, []).append(row.id)
        complaints = {row.id: row for row in uow.session.execute(
            select(COMPLAINTS).where(COMPLAINTS.c.id.in_(list(per_complaint))))}
        for complaint_id, ids in per_complaint.items():  # at the version read, like any change to a complaint
            change_complaint(uow.session, complaints[complaint_id], now, user.name, "message_retried",
                             f"{len(ids)} message(s) queued again", {"messages": ids})
        uow.commit()
    return RetryReport(len(ready), len(rows) - len(ready), len(per_complaint))


def _retry_query(which: RetryFilter) -> Any:
    """The rows a filter selects, refusing a filter that selects nothing in particular or makes no sense."""
    filters = (which.status, which.complaint, which.since, which.until)
    if which.message_id is None and all(value is None for value in filters):
        raise InvalidInput("say which messages to retry: a message id, or --status, --complaint, --since or --until")
    if which.message_id is not None and any(value is not None for value in filters):
        raise InvalidInput("give a message id or filters (--status, --complaint, --since, --until), not both")
    query = select(MESSAGES.c.id, MESSAGES.c.complaint_id, MESSAGES.c.status, MESSAGES.c.body,
                   MESSAGES.c.last_error).order_by(MESSAGES.c.id)
    if which.message_id is not None:
        return query.where(MESSAGES.c.id == which.message_id)
    if which.status is not None and which.status not in RETRYABLE:
        raise InvalidInput(f"--status '{which.status}' is not allowed; retry takes {' or '.join(RETRYABLE)}")
    # An uncertain email may have arrived: it is retried only when asked for by name, never by a broad filter.
    query = query.where(MESSAGES.c.status == (which.status or "failed"))
    since, until = _instant(which.since, "--since"), _instant(which.until, "--until")
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"--since {which.since} is not before --until {which.until}")
    if since is not None:
        query = query.where(MESSAGES.c.created_at >= since)
    if until is not None:
        query = query.where(MESSAGES.c.created_at < until)
    return query


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value.strip(), option)
    except ConfigError as error:  # the same reading as REDRESS_NOW, but a bad option is the user's input
        raise InvalidInput(str(error)) from None


def _check_one(message_id: int, rows: list[Any]) -> None:
    """The refusals for one named message: unknown, not failed or uncertain, or never rendered."""
    if not rows:
        raise NotFound(f"no message {message_id}")
    row = rows[0]
    if row.status not in RETRYABLE:
        raise InvalidInput(f"message {message_id} is {row.status}; only failed or uncertain messages can be retried")
    if not row.body:
        raise InvalidInput(f"message {message_id} was never rendered ({row.last_error}); fix the template "
                           "(`redress templates check`) - the next message will use it")
