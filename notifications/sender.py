"""Delivering the outbox one message at a time, so a crash leaves at most the one message in flight in doubt.

Each message is claimed just before its channel is contacted: it becomes
`sending` with a lease (`lease_until`) and an open attempt row naming the
sender (host:pid). When the channel answers, the outcome is recorded in the
same transaction that claims the next message. While a send is slow, a small
background thread renews the lease, so no other sender ever judges a live
sender's message interrupted. A message still `sending` after its lease ran
out belongs to a sender that died: an email becomes `uncertain` (it may have
reached the server) and is never sent again on its own; any other message goes
back in the queue, within `max_attempts`, since its channel deduplicates by
the idempotency key.

A delivery never runs inside the transaction of the change that caused it, so
a failing channel can delay a message but never block an escalation.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, exists, func, insert, literal, or_, select, update
from sqlmodel import Session

from notifications.channels import Deliverer, DeliveryFailed, DeliveryUncertain, channel_for
from notifications.customer import CUSTOMER_EMAIL, CUSTOMER_SMS
from workflow.adapters.models import ATTEMPTS, MESSAGES
from workflow.bootstrap import Redress
from workflow.domain.errors import describe_error

_NEXT_DUE = (
    select(MESSAGES.c.id)
    .where(MESSAGES.c.status == "pending", MESSAGES.c.next_attempt_at <= bindparam("now"))
    .order_by(MESSAGES.c.next_attempt_at, MESSAGES.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)  # several senders on PostgreSQL each take a different one
    .scalar_subquery()
)
_CLAIM = (
    update(MESSAGES)
    .where(MESSAGES.c.id == _NEXT_DUE, MESSAGES.c.status == "pending")
    .values(status="sending", attempts=MESSAGES.c.attempts + 1, lease_until=bindparam("lease"))
    .returning(*MESSAGES.c)
)
_OPEN_ATTEMPT = (
    insert(ATTEMPTS)
    .from_select(
        ["message_id", "number", "started_at", "outcome", "sender"],
        # The attempt's number follows the message's earlier attempts, counted by the same statement.
        select(bindparam("message_id", type_=ATTEMPTS.c.message_id.type),
               func.coalesce(func.max(ATTEMPTS.c.number), 0) + 1,
               bindparam("started", type_=ATTEMPTS.c.started_at.type), literal("sending"),
               bindparam("sender", type_=ATTEMPTS.c.sender.type))
        .where(ATTEMPTS.c.message_id == bindparam("message_id")),
    )
    .returning(ATTEMPTS.c.id)
)
_STILL_OURS = exists().where(ATTEMPTS.c.id == bindparam("attempt_id"), ATTEMPTS.c.outcome == "sending")
# Every write that changes who owns a message locks the message row first, then its attempt: no deadlocks.
_SETTLE_OWN = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.status == "sending", _STILL_OURS)
    .values(status=bindparam("new_status"), last_error=bindparam("problem"), sent_at=bindparam("sent"),
            next_attempt_at=bindparam("next_at"), lease_until=None)
)
_FINISH_ATTEMPT = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.id == bindparam("attempt_id"), ATTEMPTS.c.outcome == "sending")
    .values(finished_at=bindparam("finished"), outcome=bindparam("result"), error=bindparam("problem"))
)
# A sender that finally hears `250` after another judged it dead and settled its message: the news stands.
_CONFIRMED_LATE = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.status.in_(("uncertain", "pending", "withdrawn")),
           exists().where(ATTEMPTS.c.id == bindparam("attempt_id"), ATTEMPTS.c.outcome == "uncertain"))
    .values(status="sent", sent_at=bindparam("sent"), last_error=None, lease_until=None)
)
_CONFIRM_ATTEMPT = (
    update(ATTEMPTS).where(ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(outcome="sent", error="confirmed after another sender had judged this one stopped")
)
_RENEW = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.status == "sending", _STILL_OURS)
    .values(lease_until=bindparam("lease"))
)
_EXPIRED = or_(MESSAGES.c.lease_until < bindparam("now"), MESSAGES.c.lease_until.is_(None))
_INTERRUPTED = (
    select(MESSAGES.c.id, MESSAGES.c.channel, MESSAGES.c.attempts, MESSAGES.c.lease_until,
           ATTEMPTS.c.started_at, ATTEMPTS.c.sender)
    .outerjoin(ATTEMPTS, and_(ATTEMPTS.c.message_id == MESSAGES.c.id, ATTEMPTS.c.outcome == "sending"))
    .where(MESSAGES.c.status == "sending", _EXPIRED)
    .order_by(MESSAGES.c.id)
)
_TAKE_BACK = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.status == "sending", _EXPIRED)
    .values(status=bindparam("new_status"), last_error=bindparam("problem"), next_attempt_at=bindparam("next_at"),
            lease_until=None)
)
_CLOSE_INTERRUPTED = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.message_id == bindparam("row_id"), ATTEMPTS.c.outcome == "sending")
    .values(finished_at=bindparam("finished"), outcome="uncertain", error=bindparam("problem"))
)


@dataclass(frozen=True)
class DeliveryReport:
    """What one call of `deliver_due` did; `requeued` counts interrupted sends of a dead sender put back.

    `sent` is also split by audience, alerts to staff and messages to customers; the split is left out of
    comparisons, where `sent` already counts both.
    """

    sent: int
    retried: int
    failed: int
    uncertain: int = 0
    requeued: int = 0
    alerts_sent: int = field(default=0, compare=False)
    customer_messages_sent: int = field(default=0, compare=False)


@dataclass(frozen=True)
class _Flight:
    message: Row
    attempt_id: int


# The route of the monthly report pack (workflow/services/report_mail.py).
REPORT_EMAIL = "report_email"


def configured_channel(app: Redress, route: str) -> Any:
    """The configured channel a message's route names (customer email/SMS, or an alert channel by type)."""
    if route == CUSTOMER_EMAIL:
        return app.config.messages.email
    if route == CUSTOMER_SMS:
        return app.config.messages.sms
    if route == REPORT_EMAIL:
        return app.config.reports.mail.channel or app.config.messages.email
    return next((c for c in app.config.alerts.channels if c.type == route), None)


def _resends_safely(settings: Any) -> bool:
    """Whether a second delivery after a crash would be harmless (a channel no longer configured sends nothing)."""
    return settings is None or channel_for(settings).resends_safely


def sender_name() -> str:
    """Who is sending, as recorded on each attempt: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[-64:]


def settle_interrupted(app: Redress, tally: Counter[str] | None = None) -> int:
    """Messages left `sending` past their lease by a sender that stopped: requeue them, or mark emails uncertain.

    Returns how many became uncertain.
    """
    tally = Counter() if tally is None else tally
    now = app.clock.now()
    config = app.config.outbox
    with app.uow() as uow:
        for row in uow.session.execute(_INTERRUPTED, {"now": now}).all():
            if row.lease_until is None and row.started_at is not None and _aware(row.started_at) > now - timedelta(
                    seconds=config.lease_seconds):
                continue  # claimed before leases existed and not yet overdue
            who = f"the sender ({row.sender})" if row.sender else "the sender"
            if not _resends_safely(configured_channel(app, row.channel)):
                result, values = "uncertain", {
                    "new_status": "uncertain", "next_at": now,
                    "problem": f"{who} stopped while sending; it may or may not have arrived. "
                               "Check, then retry or leave it"}
            elif row.attempts >= config.max_attempts:
                result, values = "failed", {"new_status": "failed", "next_at": now,
                                            "problem": f"{who} stopped while sending; no attempts left"}
            else:
                result, values = "requeued", {"new_status": "pending", "next_at": now,
                                              "problem": f"{who} stopped while sending; sending again"}
            taken = uow.session.execute(_TAKE_BACK, {"row_id": row.id, "now": now, **values})
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                uow.session.execute(_CLOSE_INTERRUPTED, {
                    "row_id": row.id, "finished": now,
                    "problem": f"{who} stopped before recording the outcome"})
                tally[result] += 1
        uow.commit()
    return tally["uncertain"]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _claim(app: Redress, session: Session, sender: str, due_by: datetime) -> _Flight | None:
    """Take the next message due by `due_by`: `sending`, leased, with an open attempt; None when none is."""
    now = app.clock.now()
    lease = now + timedelta(seconds=app.config.outbox.lease_seconds)
    message = session.execute(_CLAIM, {"now": due_by, "lease": lease}).first()
    if message is None:
        return None
    attempt_id = session.execute(
        _OPEN_ATTEMPT, {"message_id": message.id, "started": now, "sender": sender}
    ).scalar_one()
    return _Flight(message, attempt_id)


def _record(app: Redress, session: Session, flight: _Flight, result: str, error: str | None) -> str:
    """Write how an attempt ended (sent, failed or uncertain); return what became of the message."""
    now = app.clock.now()
    message, config = flight.message, app.config.outbox
    values: dict[str, Any] = {"sent": None, "next_at": message.next_attempt_at, "problem": error and error[:1000]}
    if result == "sent":
        became, values["new_status"] = "sent", "sent"
        values["sent"] = now
    elif result == "uncertain":
        became, values["new_status"] = "uncertain", "uncertain"
        values["problem"] = (f"{error}"[:800] + ". The SMTP server had the whole message but never confirmed it; "
                             "it may or may not have arrived. Check, then retry or leave it")
    elif message.attempts >= config.max_attempts:
        became, values["new_status"] = "failed", "failed"
    else:
        became, values["new_status"] = "retried", "pending"
        values["next_at"] = now + timedelta(seconds=config.backoff_seconds * 2 ** (message.attempts - 1))
    settled = session.execute(_SETTLE_OWN, {"row_id": message.id, "attempt_id": flight.attempt_id, **values})
    if settled.rowcount != 1:  # type: ignore[attr-defined]
        # Another sender judged this one dead and settled the message. Only a definite delivery overrules it.
        if result == "sent" and session.execute(_CONFIRMED_LATE, {
                "row_id": message.id, "attempt_id": flight.attempt_id, "sent": now}).rowcount == 1:  # type: ignore[attr-defined]
            session.execute(_CONFIRM_ATTEMPT, {"attempt_id": flight.attempt_id})
            return "sent"
        return "lost"
    session.execute(_FINISH_ATTEMPT, {"attempt_id": flight.attempt_id, "finished": now, "result": result,
                                      "problem": error})
    return became


def _attempt(app: Redress, deliverer: Deliverer, message: Row) -> tuple[str, str | None]:
    """Hand one message to its channel: (sent, None), (failed, why) or (uncertain, why). Never raises Exception."""
    channel = configured_channel(app, message.channel)
    if channel is None:
        return "failed", f"channel '{message.channel}' is no longer configured"
    try:
        deliverer.send(channel, message)
    except DeliveryUncertain as doubt:
        return "uncertain", str(doubt)
    except DeliveryFailed as failure:
        return "failed", str(failure)
    except Exception as error:  # noqa: BLE001 - a channel's failure, whatever it is, is one failed attempt
        return "failed", describe_error(error)
    return "sent", None


class _LeaseKeeper:
    """Renews the lease of the message in flight from a background thread while its send takes long."""

    def __init__(self, app: Redress) -> None:
        self.app = app
        self.every = app.config.outbox.lease_seconds / 3
        self._flight: tuple[int, int, float] | None = None  # message id, attempt id, when last leased
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, flight: _Flight) -> None:
        with self._lock:
            self._flight = (flight.message.id, flight.attempt_id, time.monotonic())
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox-lease", daemon=True)
            self._thread.start()

    def release(self) -> None:
        with self._lock:
            self._flight = None

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._done.wait(self.every / 2):
            with self._lock:
                flight = self._flight
            if flight is None or time.monotonic() - flight[2] < self.every:
                continue
            try:
                with self.app.uow() as uow:
                    lease = self.app.clock.now() + timedelta(seconds=self.app.config.outbox.lease_seconds)
                    uow.session.execute(_RENEW, {"row_id": flight[0], "attempt_id": flight[1], "lease": lease})
                    uow.commit()
            except Exception:  # noqa: BLE001, S112 - the lease has two more chances before it runs out
                continue
            with self._lock:
                if self._flight is not None and self._flight[:2] == flight[:2]:
                    self._flight = (flight[0], flight[1], time.monotonic())


def deliver_due(
    app: Redress, limit: int | None = None, should_stop: Callable[[], bool] | None = None
) -> DeliveryReport:
    """Settle sends of dead senders, then claim, send and record one message at a time until nothing is due.

    `limit` caps the messages handed to channels in this call; `should_stop` is asked before each claim.
    One SMTP connection per server serves the whole drain.
    """
    from notifications.digest import release_held

    tally: Counter[str] = Counter()
    release_held(app)  # first, so what quiet hours held is sent in this pass
    due_by = app.clock.now()  # what was due when the call began: a failing message is not retried within it
    settle_interrupted(app, tally)
    sender = sender_name()
    keeper = _LeaseKeeper(app)
    handed = 0

    def wants_more() -> bool:
        return (limit is None or handed < limit) and not (should_stop is not None and should_stop())

    try:
        with Deliverer(app.config) as deliverer:
            with app.uow() as uow:
                flight = _claim(app, uow.session, sender, due_by) if wants_more() else None
                uow.commit()
            while flight is not None:
                keeper.hold(flight)
                result, error = _attempt(app, deliverer, flight.message)
                handed += 1
                with app.uow() as uow:
                    became = _record(app, uow.session, flight, result, error)
                    tally[became] += 1
                    if became == "sent":
                        tally[f"sent to {flight.message.audience}"] += 1
                    flight = _claim(app, uow.session, sender, due_by) if wants_more() else None
                    uow.commit()
                keeper.release()
    finally:
        keeper.stop()
    return DeliveryReport(tally["sent"], tally["retried"], tally["failed"], tally["uncertain"], tally["requeued"],
                          tally["sent to staff"], tally["sent to customer"])
