"""Deadlines whose firing raised: set aside with their error, retried with backoff, listed and retried by hand.

One bad row (a complaint whose severity a new config no longer knows, a
corrupt step) must never stop the deadlines queued behind it. Its firing is
rolled back to a savepoint, the error is kept on the deadline row and in the
complaint's audit trail, the managers are alerted, and it is tried again
after `scheduler.retry_backoff_seconds`, doubling, up to `scheduler.fire_attempts`
times; after that it waits for `redress deadlines retry`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session

from workflow.adapters.models import COMPLAINTS, DEADLINES
from workflow.adapters.records import change_complaint, load_complaint
from workflow.bootstrap import Redress
from workflow.domain.clock import local_minute
from workflow.domain.errors import InvalidInput, NotFound, describe_error
from workflow.domain.permissions import require
from workflow.domain.vocabulary import ROLES
from workflow.services import clocks

ALERT_LEVEL = len(ROLES) - 1  # the managers look after what the engine could not do on its own
_FAILED = DEADLINES.c.fire_error.is_not(None)  # kept after a retry, so the history stays listable
_PENDING = DEADLINES.c.fired_at.is_(None) & DEADLINES.c.cancelled_at.is_(None)


def record_failure(app: Redress, session: Session, deadline_id: int, error: BaseException, now: datetime) -> None:
    """Keep the error on the deadline, plan its next try (or set it aside for good), audit and alert."""
    settings = app.config.scheduler
    reason = describe_error(error)
    row = clocks.count_failure(session, deadline_id, reason)
    final = row.fire_attempts >= settings.fire_attempts
    retry = None if final else now + timedelta(seconds=settings.retry_backoff_seconds * 2 ** (row.fire_attempts - 1))
    clocks.plan_retry(session, deadline_id, retry, now if final else None)
    complaint = load_complaint(session, row.complaint_id)
    what = row.kind.replace("_", " ")
    note = (f"{what} deadline could not fire ({reason}); set aside after {row.fire_attempts} tries: "
            "`redress deadlines retry` once the cause is fixed" if retry is None
            else f"{what} deadline could not fire ({reason}); trying again at "
                 f"{local_minute(retry, app.config.timezone)}")
    change_complaint(session, complaint, now, "scheduler", "deadline_failed", note,
                     {"deadline_id": deadline_id, "deadline": row.kind, "attempt": row.fire_attempts,
                      "error": reason, "retry_at": retry.isoformat() if retry else None, "set_aside": final})
    if row.fire_attempts == 1 or final:  # once when it first fails, once when it is given up on
        _alert(app, session, row.complaint_id, note, now)


def _alert(app: Redress, session: Session, complaint_id: int, headline: str, now: datetime) -> None:
    """Alert the managers, in a savepoint: the failure is already recorded and audited, and stays so even if
    the alert cannot be written."""
    from notifications.outbox import queue_staff_alert
    from workflow.services.alert_recipients import StaffByLevel, alert_recipients

    complaint = session.execute(select(COMPLAINTS).where(COMPLAINTS.c.id == complaint_id)).one()
    managers = alert_recipients(StaffByLevel(session), ALERT_LEVEL, app.config.alerts.fallback_email)
    try:
        with session.begin_nested():
            queue_staff_alert(app, session, complaint=complaint, kind="deadline_failed", headline=headline,
                              level=ROLES[ALERT_LEVEL], recipients=managers, now=now)
    except Exception:  # noqa: BLE001 - the failure itself is already recorded and audited above
        pass


def list_failed(app: Redress, *, include_done: bool = False) -> list[dict[str, Any]]:
    """Deadlines that failed to fire and still wait (retrying or set aside), oldest due first."""
    query = (
        select(DEADLINES, COMPLAINTS.c.number)
        .join(COMPLAINTS, COMPLAINTS.c.id == DEADLINES.c.complaint_id)
        .where(_FAILED)
        .order_by(DEADLINES.c.due_at, DEADLINES.c.id)
    )
    if not include_done:
        query = query.where(_PENDING)
    with app.uow(write=False) as uow:
        return [_as_dict(row) for row in uow.session.execute(query)]


def _as_dict(row: Row) -> dict[str, Any]:
    status = ("fired" if row.fired_at else "cancelled" if row.cancelled_at
              else "set aside" if row.set_aside_at else "retrying")
    return {"id": row.id, "complaint": row.number, "kind": row.kind,
            "due_at": row.due_at.isoformat() if row.due_at else None, "status": status,
            "attempts": row.fire_attempts, "retry_at": row.retry_at.isoformat() if row.retry_at else None,
            "error": row.fire_error}


def retry_failed(app: Redress, actor: str | None, deadline_id: int) -> dict[str, Any]:
    """Fire a failed deadline again at the next sweep, with a fresh round of tries (supervisor or above)."""
    from workflow.services.people import acting_user

    with app.uow() as uow:
        session = uow.session
        user = acting_user(session, actor)
        require(user, "retry_deadline")
        row = session.execute(
            select(DEADLINES, COMPLAINTS.c.number, COMPLAINTS.c.state)
            .join(COMPLAINTS, COMPLAINTS.c.id == DEADLINES.c.complaint_id)
            .where(DEADLINES.c.id == deadline_id)
        ).first()
        if row is None:
            raise NotFound(f"no deadline {deadline_id}")
        if row.fire_error is None or row.fired_at is not None or row.cancelled_at is not None:
            raise InvalidInput(f"deadline {deadline_id} has not failed or is no longer pending; "
                               "`redress deadlines failed` lists the ones that can be retried")
        if row.fire_attempts == 0:
            raise InvalidInput(f"deadline {deadline_id} is already queued to fire at the next sweep")
        now = app.clock.now()
        clocks.requeue(session, deadline_id, now)
        change_complaint(session, load_complaint(session, row.complaint_id), now, user.name, "deadline_retried",
                         f"{row.kind.replace('_', ' ')} deadline queued to fire again",
                         {"deadline_id": deadline_id, "deadline": row.kind, "last_error": row.fire_error})
        uow.commit()
        return {"id": deadline_id, "complaint": row.number, "kind": row.kind}
