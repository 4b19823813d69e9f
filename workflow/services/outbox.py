"""Queueing failed or uncertain messages again: an operator's use case, audited on each complaint's trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from workflow.adapters.models import COMPLAINTS, MESSAGES
from workflow.adapters.records import change_complaint, load_complaint
from workflow.domain.clock import parse_instant
from workflow.domain.errors import ConfigError, InvalidInput, NotFound
from workflow.domain.permissions import require
from workflow.domain.vocabulary import RETRYABLE
from workflow.services.people import acting_user


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
