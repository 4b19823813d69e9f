"""Delivering the outbox: each message in its own short transaction, with retries and exponential backoff.

A delivery never runs inside the transaction of the change that caused it, so a
failing channel can delay an alert but never block an escalation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from notifications.channels import DeliveryFailed, send
from workflow.bootstrap import Redress
from workflow.models import MESSAGES


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    retried: int
    failed: int


def deliver_due(app: Redress, limit: int = 100) -> DeliveryReport:
    """Send pending messages whose time has come; reschedule or fail the ones that do not go through."""
    now = app.clock.now()
    channels = {channel.type: channel for channel in app.config.alerts.channels}
    with app.uow(write=False) as uow:
        due = list(uow.session.execute(
            select(MESSAGES)
            .where(MESSAGES.c.status == "pending", MESSAGES.c.next_attempt_at <= now)
            .order_by(MESSAGES.c.next_attempt_at, MESSAGES.c.id)
            .limit(limit)
        ))
    sent = retried = failed = 0
    for message in due:
        channel = channels.get(message.channel)
        attempts = message.attempts + 1
        values: dict[str, object] = {"attempts": attempts}
        try:
            if channel is None:
                raise DeliveryFailed(f"channel '{message.channel}' is no longer configured")
            send(channel, message)
            values |= {"status": "sent", "sent_at": app.clock.now(), "last_error": None}
            sent += 1
        except DeliveryFailed as error:
            values["last_error"] = str(error)[:1000]
            if attempts >= app.config.alerts.max_attempts:
                values["status"] = "failed"
                failed += 1
            else:
                backoff = app.config.alerts.backoff_seconds * 2 ** (attempts - 1)
                values["next_attempt_at"] = app.clock.now() + timedelta(seconds=backoff)
                retried += 1
        with app.uow() as uow:
            uow.session.execute(
                update(MESSAGES).where(MESSAGES.c.id == message.id, MESSAGES.c.status == "pending").values(**values)
            )
            uow.commit()
    return DeliveryReport(sent, retried, failed)
