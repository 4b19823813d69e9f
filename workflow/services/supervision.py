"""Supervisor review of escalations: the board, and acknowledge / extend / de-escalate, each with a reason."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from workflow.adapters.models import BOARD_ORDER, COMPLAINTS, CUSTOMERS, USERS
from workflow.adapters.records import (
    ComplaintChanges,
    ComplaintSnapshot,
    change_complaint,
    load_complaint,
    required_text,
)
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput, checked_limit
from workflow.domain.permissions import PERMISSIONS, require
from workflow.domain.sla import NoPolicy, parse_duration, plan_for, stretches_between
from workflow.domain.vocabulary import ROLES
from workflow.services import clocks
from workflow.services.people import acting_user
from workflow.services.transition import Outcome, check_version


def _business_minutes_past(app: Redress, rows: list[Any], now: datetime) -> list[float]:
    """Business time on each complaint's own calendar since its deadline (wall time for a row no policy covers).

    The breaches are walked once per calendar, newest first, each adding the working time up to the next one:
    a board of thousands of breaches over a year walks that year's days once, not once per row. The sum is
    `business_minutes_between` exactly (whole stretches, added as timedeltas).
    """
    @functools.cache
    def calendar_of(severity: str, tier: str) -> str | None:  # a handful of pairs for thousands of rows
        try:
            return plan_for(app.config, severity, tier).calendar
        except NoPolicy:
            return None

    calendars = {index: calendar_of(row.severity, row.customer_tier) for index, row in enumerate(rows)}
    past: dict[tuple[str | None, datetime], float] = {}
    for name in set(calendars.values()):
        calendar = app.calendar(name) if name is not None else None
        breaches = sorted({rows[i].breached_at for i, n in calendars.items() if n == name}, reverse=True)
        worked, later = timedelta(), now
        for breached_at in breaches:
            if breached_at >= now:
                past[name, breached_at] = 0.0
                continue
            if calendar is None or calendar.always_open:
                past[name, breached_at] = (now - breached_at).total_seconds() / 60
                continue
            worked += sum((end - start for start, end in stretches_between(breached_at, later, calendar)),
                          timedelta())
            past[name, breached_at], later = worked.total_seconds() / 60, breached_at
    return [past[calendars[i], row.breached_at] for i, row in enumerate(rows)]


def escalation_board(app: Redress, actor: str | None, *, level: str | None = None,
                     limit: int = 200) -> list[dict[str, Any]]:
    """Open escalated complaints, highest level first, then longest past their breached deadline; at most `limit`.

    Time past the deadline is business time, never negative: a clock pinned before the breach reads 0 and
    `deadline_passed` false. The board is for those the permissions table allows: every face names who is reading it.
    """
    if level is not None and level not in ROLES:
        raise InvalidInput(f"level '{level}' is not allowed; levels: {', '.join(ROLES)}")
    checked_limit(limit)
    now = app.clock.now()
    # Read off ix_complaint_board: a complaint is on the board from its first breach (breaches.climb keeps
    # overdue_since and escalates it in the same change), so the board is the first entries of that index.
    shown = ("number", "state", "severity", "escalation_level", "summary", "escalated_at", "escalation_acked_at")
    query = (
        select(*(COMPLAINTS.c[name] for name in shown), COMPLAINTS.c.overdue_since.label("breached_at"),
               CUSTOMERS.c.name.label("customer_name"), CUSTOMERS.c.tier.label("customer_tier"),
               USERS.c.name.label("assignee_name"))
        .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
        .outerjoin(USERS, USERS.c.id == COMPLAINTS.c.assignee_id)
        .where(COMPLAINTS.c.is_open.is_(True), COMPLAINTS.c.overdue_since.is_not(None))
        .order_by(*BOARD_ORDER)
        .limit(limit)
    )
    if level is not None:
        query = query.where(COMPLAINTS.c.escalation_level == ROLES.index(level))
    with app.uow(write=False) as uow:
        require(acting_user(uow.session, actor), "escalation_board")
        rows = list(uow.session.execute(query))
        past = _business_minutes_past(app, rows, now)
        return [
            {
                "number": row.number, "state": row.state, "severity": row.severity,
                "level": ROLES[row.escalation_level], "escalation_level": row.escalation_level,
                "customer": row.customer_name, "assignee": row.assignee_name, "summary": row.summary,
                "breached_at": row.breached_at.isoformat(), "escalated_at": row.escalated_at.isoformat(),
                "minutes_past_deadline": round(minutes_past, 1),
                "wall_minutes_past_deadline": round(max((now - row.breached_at).total_seconds() / 60, 0.0), 1),
                "deadline_passed": now >= row.breached_at,
                "acknowledged": row.escalation_acked_at is not None,
            }
            for row, minutes_past in zip(rows, past, strict=True)
        ]


# What a supervisor action changes on the complaint, and what its event records, from the complaint as read.
SupervisorOutcome = tuple[ComplaintChanges, dict[str, Any]]
SupervisorChange = Callable[[Session, ComplaintSnapshot, datetime], SupervisorOutcome]


def _supervise(
    app: Redress, actor: str | None, ref: str, reason: str | None, trigger: str,
    expected_version: int | None, change: SupervisorChange,
) -> Outcome:
    """The shape of a supervisor action: the trigger's permission, a reason, one transaction, one event."""
    reason = required_text(reason, "reason", f"why you {PERMISSIONS[trigger].wording}", app.config.limits.reason)
    with app.uow() as uow:
        session = uow.session
        user = acting_user(session, actor)
        require(user, trigger)
        complaint = load_complaint(session, ref)
        check_version(complaint, expected_version)
        now: datetime = app.clock.now()
        values, data = change(session, complaint, now)
        version = change_complaint(session, complaint, now, user.name, trigger, reason, data, **values)
        uow.commit()
        return Outcome(complaint.id, complaint.number, trigger, complaint.state, complaint.state, version)


def acknowledge(app: Redress, actor: str | None, ref: str, reason: str | None,
                expected_version: int | None = None) -> Outcome:
    """The supervisor has seen the escalation and owns what happens next."""
    def change(_session: Session, complaint: ComplaintSnapshot, now: datetime) -> SupervisorOutcome:
        if complaint.escalated_at is None:
            raise InvalidInput(f"{complaint.number} is not escalated")
        return {"escalation_acked_at": now}, {"level": ROLES[complaint.escalation_level]}

    return _supervise(app, actor, ref, reason, "acknowledge_escalation", expected_version, change)


def extend_deadline(app: Redress, actor: str | None, ref: str, by: str, reason: str | None,
                    expected_version: int | None = None) -> Outcome:
    """Give the complaint more business time: its pending resolution deadlines and ladder step move later."""
    try:
        minutes = parse_duration(by)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    if minutes <= 0:
        raise InvalidInput("by must be a positive duration, e.g. 2h")

    def change(session: Session, complaint: ComplaintSnapshot, _now: datetime) -> SupervisorOutcome:
        if (not complaint.is_open or complaint.sla_started_at is None
                or not clocks.pending_kinds(session, complaint.id, clocks.RESOLUTION_KINDS)):
            raise InvalidInput(f"{complaint.number} has no running clock to extend")
        clocks.extend(app, session, complaint, minutes)
        return {}, {"by_minutes": minutes}

    return _supervise(app, actor, ref, reason, "extend_deadline", expected_version, change)


def lower_escalation(app: Redress, actor: str | None, ref: str, to_level: str, reason: str | None,
                     expected_version: int | None = None) -> Outcome:
    """Take the complaint down the ladder (the next climb is re-armed from now)."""
    if to_level not in ROLES:
        raise InvalidInput(f"level '{to_level}' is not allowed; levels: {', '.join(ROLES)}")
    target = ROLES.index(to_level)

    def change(session: Session, complaint: ComplaintSnapshot, now: datetime) -> SupervisorOutcome:
        if target >= complaint.escalation_level:
            raise InvalidInput(
                f"{complaint.number} is at level {ROLES[complaint.escalation_level]}; lowering needs a lower level"
            )
        checkpoint = clocks.arm_next_step(app, session, complaint, target + 1, now)
        return ({"escalation_level": target, **checkpoint},
                {"from_level": ROLES[complaint.escalation_level], "to_level": to_level})

    return _supervise(app, actor, ref, reason, "lower_escalation", expected_version, change)
