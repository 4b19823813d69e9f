"""Read models for the agent's and supervisor's desk: queues with live countdowns, and a change marker.

The terminal app shows these and refreshes them every few seconds, so each is
a couple of indexed queries whatever the size of the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from workflow.adapters.models import COMPLAINTS, CUSTOMERS, DEADLINES, EVENTS, USERS
from workflow.bootstrap import Redress
from workflow.domain.sla import NoPolicy, business_minutes_between, plan_for
from workflow.domain.vocabulary import ROLES
from workflow.read.queries import MOST_URGENT_FIRST
from workflow.services import clocks
from workflow.services.people import acting_user

# The deadlines a countdown counts down to (warnings only colour the row).
TARGET_KINDS = ("first_response", "resolution", "escalation", "step")


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
                   COMPLAINTS.c.sla_paused_at, COMPLAINTS.c.version, CUSTOMERS.c.name.label("customer"),
                   CUSTOMERS.c.tier, USERS.c.name.label("assignee"))
            .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
            .outerjoin(USERS, USERS.c.id == COMPLAINTS.c.assignee_id)
            .where(COMPLAINTS.c.is_open.is_(True))
            .order_by(*MOST_URGENT_FIRST).limit(limit)
        )
        if mine:
            query = query.where(COMPLAINTS.c.assignee_id == acting_user(session, actor).id)
        rows = list(session.execute(query))
        pending = _pending_deadlines(session, [r.id for r in rows])
    return [_with_countdown(app, row, pending.get(row.id, []), now) for row in rows]


def _pending_deadlines(session: Any, ids: list[int]) -> dict[int, list[Any]]:
    if not ids:
        return {}
    found: dict[int, list[Any]] = {}
    for row in session.execute(
        select(DEADLINES.c.complaint_id, DEADLINES.c.kind, DEADLINES.c.due_at)
        .where(DEADLINES.c.complaint_id.in_(ids), DEADLINES.c.fired_at.is_(None),
               DEADLINES.c.cancelled_at.is_(None))
    ):
        found.setdefault(row.complaint_id, []).append(row)
    return found


def _with_countdown(app: Redress, row: Any, pending: list[Any], now: datetime) -> dict[str, Any]:
    """The nearest target deadline in business minutes, and how urgent it looks: ok, warning, breached."""
    targets = [d for d in pending if d.kind in TARGET_KINDS and d.due_at is not None]
    warned = {d.kind.removesuffix("_warning") for d in pending if d.kind.endswith("_warning")}
    nearest = min(targets, key=lambda d: d.due_at) if targets else None
    remaining = None
    try:
        clock_plan = plan_for(app.config, row.severity, row.tier)
    except NoPolicy:  # a row from an older config: listed, with no countdown, rather than hiding the queue
        clock_plan = None
    if nearest is not None and clock_plan is not None:
        remaining = business_minutes_between(now, nearest.due_at, app.calendar(clock_plan.calendar))
    start_level = clock_plan.start_level if clock_plan else 0
    if row.escalation_level > start_level or (remaining is not None and remaining < 0):
        urgency = "breached"
    elif nearest is not None and nearest.kind in clocks.BREACH_KINDS and nearest.kind not in warned:
        urgency = "warning"  # its warning has already fired
    else:
        urgency = "ok"
    return {
        "id": row.id, "number": row.number, "state": row.state, "severity": row.severity,
        "level": ROLES[row.escalation_level], "category": row.category, "summary": row.summary,
        "customer": row.customer, "assignee": row.assignee, "version": row.version,
        "paused": row.sla_paused_at is not None,
        "next_deadline": nearest.kind if nearest is not None else None,
        "remaining_minutes": None if remaining is None else round(remaining, 1),
        "urgency": urgency,
    }


def countdown_text(remaining_minutes: float | None, paused: bool) -> str:
    """'2h05m', '-0h40m' (past due), 'paused' or '-': business time, as the agent reads it."""
    if paused:
        return "paused"
    if remaining_minutes is None:
        return "-"
    sign = "-" if remaining_minutes < 0 else ""
    minutes = int(abs(remaining_minutes))
    return f"{sign}{minutes // 60}h{minutes % 60:02d}m"
