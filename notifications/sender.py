"""Delivering the outbox with retries, exponential backoff and a record of every attempt.

A message is claimed before its channel is contacted: in one short transaction
its status becomes `sending` and an attempt row is written. After the channel
answers, a second transaction records the outcome. A crash in between leaves
the message `sending` with an unfinished attempt; the next pass, once
`outbox.stale_after_seconds` have passed, marks such an email `uncertain` and
never sends it again on its own (an operator can look and retry). Channels
that deduplicate by the idempotency key (the folder, a webhook honouring
Idempotency-Key) are simply sent again. So an email reaches the SMTP server at
most once unless someone retries it; every other message at least once.

A delivery never runs inside the transaction of the change that caused it, so
a failing channel can delay a message but never block an escalation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update

from notifications.channels import Deliverer, DeliveryFailed
from notifications.customer import CUSTOMER_EMAIL, CUSTOMER_SMS
from workflow.bootstrap import Redress
from workflow.config import EmailChannel
from workflow.db import insert_returning_id
from workflow.models import ATTEMPTS, MESSAGES

_CLAIM = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.status == "pending")
    .values(status="sending", attempts=MESSAGES.c.attempts + 1)
)
_START_ATTEMPT = insert(ATTEMPTS)
_FINISH_ATTEMPT = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(finished_at=bindparam("finished"), outcome=bindparam("result"), error=bindparam("problem"))
)
_ATTEMPTS_SO_FAR = select(func.count()).select_from(ATTEMPTS).where(ATTEMPTS.c.message_id == bindparam("of_message"))
_SETTLE = update(MESSAGES).where(MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.status == "sending")


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    retried: int
    failed: int
    uncertain: int = 0


def channel_for(app: Redress, route: str) -> Any:
    """The configured channel a message's route names (customer email/SMS, or an alert channel by type)."""
    if route == CUSTOMER_EMAIL:
        return app.config.messages.email
    if route == CUSTOMER_SMS:
        return app.config.messages.sms
    return next((c for c in app.config.alerts.channels if c.type == route), None)


def _resends_safely(channel: Any) -> bool:
    """Whether a second delivery after a crash would be harmless (SMTP has no idempotency key)."""
    return not isinstance(channel, EmailChannel)


def settle_interrupted(app: Redress) -> int:
    """Messages left `sending` by a crash: resend where that is harmless, else mark them uncertain."""
    now = app.clock.now()
    stale = now - timedelta(seconds=app.config.outbox.stale_after_seconds)
    with app.uow() as uow:
        rows = uow.session.execute(
            select(MESSAGES.c.id, MESSAGES.c.channel, ATTEMPTS.c.id.label("attempt_id"))
            .join(ATTEMPTS, ATTEMPTS.c.message_id == MESSAGES.c.id)
            .where(MESSAGES.c.status == "sending", ATTEMPTS.c.outcome == "sending", ATTEMPTS.c.started_at <= stale)
        ).all()
        uncertain = 0
        for row in rows:
            resend = _resends_safely(channel_for(app, row.channel))
            uncertain += not resend
            uow.session.execute(_FINISH_ATTEMPT, {
                "attempt_id": row.attempt_id, "finished": now, "result": "uncertain",
                "problem": "the sender stopped before recording the outcome",
            })
            values = ({"status": "pending", "next_attempt_at": now} if resend else
                      {"status": "uncertain", "last_error": "the sender stopped while sending; it may or may not "
                                                            "have arrived. Check, then retry or leave it"})
            uow.session.execute(_SETTLE, [{"row_id": row.id, **values}])
        uow.commit()
    return uncertain


def _claim(app: Redress, limit: int) -> list[tuple[Row, int]]:
    """Take due pending messages for this pass: each becomes `sending` with an open attempt, in one transaction."""
    now = app.clock.now()
    with app.uow() as uow:
        due = list(uow.session.execute(
            select(MESSAGES)
            .where(MESSAGES.c.status == "pending", MESSAGES.c.next_attempt_at <= now)
            .order_by(MESSAGES.c.next_attempt_at, MESSAGES.c.id)
            .limit(limit)
        ))
        claimed = []
        for message in due:
            if uow.session.execute(_CLAIM, {"row_id": message.id}).rowcount == 1:  # type: ignore[attr-defined]
                number = uow.session.execute(_ATTEMPTS_SO_FAR, {"of_message": message.id}).scalar_one() + 1
                attempt_id = insert_returning_id(uow.session, _START_ATTEMPT, {
                    "message_id": message.id, "number": number, "started_at": now,
                    "finished_at": None, "outcome": "sending", "error": None,
                })
                claimed.append((message, attempt_id))
        uow.commit()
    return claimed


def _record(app: Redress, message: Row, attempt_id: int, error: str | None) -> str:
    """Write the outcome of one attempt; return sent, retried or failed."""
    now = app.clock.now()
    attempt = message.attempts + 1
    if error is None:
        result, values = "sent", {"status": "sent", "sent_at": now, "last_error": None}
    elif attempt >= app.config.outbox.max_attempts:
        result, values = "failed", {"status": "failed", "last_error": error[:1000]}
    else:
        backoff = app.config.outbox.backoff_seconds * 2 ** (attempt - 1)
        result, values = "retried", {"status": "pending", "last_error": error[:1000],
                                     "next_attempt_at": now + timedelta(seconds=backoff)}
    with app.uow() as uow:
        uow.session.execute(_FINISH_ATTEMPT, {"attempt_id": attempt_id, "finished": now,
                                              "result": "sent" if error is None else "failed", "problem": error})
        uow.session.execute(_SETTLE, [{"row_id": message.id, **values}])
        uow.commit()
    return result


def _unclaim(app: Redress, unsent: list[tuple[Row, int]]) -> None:
    """Give back messages claimed but never handed to a channel: pending again, as if this pass had not come."""
    with app.uow() as uow:
        for message, attempt_id in unsent:
            uow.session.execute(delete(ATTEMPTS).where(ATTEMPTS.c.id == attempt_id))
            uow.session.execute(_SETTLE, [{"row_id": message.id, "status": "pending", "attempts": message.attempts}])
        uow.commit()


def deliver_due(app: Redress, limit: int | None = None,
                should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """One pass: settle interrupted sends, then send what is due, each outcome recorded as soon as it is known.

    `should_stop` is asked before each message; once it says so, the messages not yet sent are given back.
    """
    counts = {"sent": 0, "retried": 0, "failed": 0}
    if should_stop is not None and should_stop():
        return DeliveryReport(0, 0, 0)
    uncertain = settle_interrupted(app)
    claimed = _claim(app, limit or app.config.outbox.batch_size)
    with Deliverer(app.config) as deliverer:
        for position, (message, attempt_id) in enumerate(claimed):
            if should_stop is not None and should_stop():
                _unclaim(app, claimed[position:])
                break
            channel = channel_for(app, message.channel)
            try:
                if channel is None:
                    raise DeliveryFailed(f"channel '{message.channel}' is no longer configured")
                deliverer.send(channel, message)
                error = None
            except DeliveryFailed as failure:
                error = str(failure)
            counts[_record(app, message, attempt_id, error)] += 1
    return DeliveryReport(counts["sent"], counts["retried"], counts["failed"], uncertain)
