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
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, select, update
from sqlmodel import Session

from workflow.bootstrap import Redress
from workflow.errors import InvalidInput, NotFound
from workflow.models import COMPLAINTS, DEADLINES, USERS
from workflow.records import append_event
from workflow.vocabulary import ROLES

ALERT_LEVEL = len(ROLES) - 1  # the managers look after what the engine could not do on its own
_FAILED = DEADLINES.c.fire_error.is_not(None)  # kept after a retry, so the history stays listable
_PENDING = DEADLINES.c.fired_at.is_(None) & DEADLINES.c.cancelled_at.is_(None)
_RECORD_FAILURE = (
    update(DEADLINES)
    .where(DEADLINES.c.id == bindparam("row_id"))
    .values(fire_attempts=DEADLINES.c.fire_attempts + 1, fire_error=bindparam("error"),
            retry_at=bindparam("retry"), set_aside_at=bindparam("aside"))
    .returning(DEADLINES.c.complaint_id, DEADLINES.c.kind, DEADLINES.c.fire_attempts)
)
_COMPLAINT = select(COMPLAINTS.c.id, COMPLAINTS.c.state).where(COMPLAINTS.c.id == bindparam("complaint_id"))


def describe(error: BaseException) -> str:
    """One line: the error's kind and first line, as an operator reads it."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:500] if text else type(error).__name__


def record_failure(app: Redress, session: Session, deadline_id: int, error: BaseException, now: datetime) -> None:
    """Keep the error on the deadline, plan its next try (or set it aside for good), audit and alert."""
    settings = app.config.scheduler
    attempts = session.execute(select(DEADLINES.c.fire_attempts).where(DEADLINES.c.id == deadline_id)).scalar_one()
    final = attempts + 1 >= settings.fire_attempts
    retry = None if final else now + timedelta(seconds=settings.retry_backoff_seconds * 2 ** attempts)
    reason = describe(error)
    row = session.execute(_RECORD_FAILURE, {"row_id": deadline_id, "error": reason, "retry": retry,
                                            "aside": now if final else None}).one()
    complaint = session.execute(_COMPLAINT, {"complaint_id": row.complaint_id}).one()
    what = row.kind.replace("_", " ")
    note = (f"{what} deadline could not fire ({reason}); set aside after {row.fire_attempts} tries: "
            "`redress deadlines retry` once the cause is fixed" if retry is None
            else f"{what} deadline could not fire ({reason}); trying again at {_local(app, retry)}")
    append_event(session, complaint.id, now, "scheduler", "deadline_failed", complaint.state, complaint.state, note,
                 {"deadline_id": deadline_id, "deadline": row.kind, "attempt": row.fire_attempts,
                  "error": reason, "retry_at": retry.isoformat() if retry else None, "set_aside": final})
    if row.fire_attempts == 1 or final:  # once when it first fails, once when it is given up on
        _alert(app, session, row.complaint_id, note, now)


def _local(app: Redress, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(app.config.timezone)).strftime("%Y-%m-%d %H:%M")


def _alert(app: Redress, session: Session, complaint_id: int, headline: str, now: datetime) -> None:
    """Alert the managers; a complaint row too broken to render an alert for still gets its alert, unrendered."""
    from notifications.outbox import queue_staff_alert

    complaint = session.execute(select(COMPLAINTS).where(COMPLAINTS.c.id == complaint_id)).one()
    managers = [(r.name, r.email) for r in session.execute(
        select(USERS.c.name, USERS.c.email).where(USERS.c.role == ROLES[ALERT_LEVEL]).order_by(USERS.c.name))]
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
    from workflow.people import acting_user, require_role

    with app.uow() as uow:
        session = uow.session
        user = acting_user(session, actor)
        require_role(user, "supervisor", "retrying a deadline")
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
        now = app.clock.now()
        session.execute(update(DEADLINES).where(DEADLINES.c.id == deadline_id)
                        .values(fire_attempts=0, retry_at=now, set_aside_at=None))
        append_event(session, row.complaint_id, now, user.name, "deadline_retried", row.state, row.state,
                     f"{row.kind.replace('_', ' ')} deadline queued to fire again",
                     {"deadline_id": deadline_id, "deadline": row.kind, "last_error": row.fire_error})
        uow.commit()
        return {"id": deadline_id, "complaint": row.number, "kind": row.kind}
