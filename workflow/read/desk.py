"""Read models for the agent's and supervisor's desk: queues with live countdowns, and a change marker.

The terminal app shows these and refreshes them every few seconds, so each is
a couple of indexed queries whatever the size of the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from workflow.adapters.models import COMPLAINTS, CUSTOMERS, EVENTS, USERS
from workflow.bootstrap import Redress
from workflow.domain.vocabulary import ROLES
from workflow.read.countdown import MOST_URGENT_FIRST, countdown, countdown_deadlines, countdown_text
from workflow.services.people import acting_user


def change_marker(app: Redress) -> int:
    """The newest audit event's id: every change to a complaint or its steps appends one (one index read)."""
    with app.uow(write=False) as uow:
        return uow.session.execute(select(func.max(EVENTS.c.id))).scalar() or 0


def desk_queue(app: Redress, actor: str, *, mine: bool, limit: int = 100) -> list[dict[str, Any]]:
    """Open complaints (the actor's, or everyone's), most urgent first, each with its next deadline's countdown."""
    now = app.clock.now()
    with app.uow(write=False) as uow:
        session = uow.session
        query = (
            select(COMPLAINTS.c.id, COMPLAINTS.c.number, COMPLAINTS.c.state, COMPLAINTS.c.severity,
                   COMPLAINTS.c.escalation_level, COMPLAINTS.c.category, COMPLAINTS.c.summary,
                   COMPLAINTS.c.sla_paused_at, COMPLAINTS.c.next_breach_at, COMPLAINTS.c.version,
                   CUSTOMERS.c.name.label("customer"),
                   CUSTOMERS.c.tier, USERS.c.name.label("assignee"))
            .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
            .outerjoin(USERS, USERS.c.id == COMPLAINTS.c.assignee_id)
            .where(COMPLAINTS.c.is_open == True)  # noqa: E712 - SQL equality, which the queue's index reads by
            .order_by(*MOST_URGENT_FIRST).limit(limit)
        )
        if mine:
            query = query.where(COMPLAINTS.c.assignee_id == acting_user(session, actor).id)
        rows = list(session.execute(query))
        deadlines = countdown_deadlines(session, [r.id for r in rows])
    return [_with_countdown(app, row, deadlines.get(row.id, []), now) for row in rows]


def _with_countdown(app: Redress, row: Any, deadlines: list[Any], now: datetime) -> dict[str, Any]:
    return {
        "id": row.id, "number": row.number, "state": row.state, "severity": row.severity,
        "level": ROLES[row.escalation_level], "category": row.category, "summary": row.summary,
        "customer": row.customer, "assignee": row.assignee, "version": row.version,
        **countdown(app, row, deadlines, now),
    }


__all__ = ["change_marker", "countdown_text", "desk_queue"]



